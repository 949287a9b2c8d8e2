"""A walk-through of Trent with boto3, as a Python program written for AWS KMS would use it.

Run by test/e2e/boto3.test.ts against a real server:

    python3 boto3_walkthrough.py --endpoint-url URL --credentials FILE --region REGION

Credentials come from the shared credentials file Trent writes on first start (profile default).
Prints one "ok ..." line per step and "OK" at the end; on any mismatch prints "FAIL: ..." to
stderr and exits 1. Needs only boto3, which comes with the machine image.
"""

import argparse
import os
import sys
import time

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


class Mismatch(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Mismatch(message)


def equal(actual, expected, what):
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def step(name):
    print(f"ok {name}", flush=True)


def expect_client_error(call, code, message, what):
    """Runs call(); it must raise ClientError with this code and message (None: any message)."""
    try:
        call()
    except ClientError as err:
        error = err.response.get("Error", {})
        equal(error.get("Code"), code, f"{what}: error code")
        if message is not None:
            equal(error.get("Message"), message, f"{what}: error message")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        equal(status, 400, f"{what}: HTTP status")
        return err
    raise Mismatch(f"{what}: expected ClientError {code}, but the call succeeded")


def state(kms, key_id):
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


def make_client(args, **credentials):
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    if credentials:
        return boto3.client(
            "kms",
            endpoint_url=args.endpoint_url,
            region_name=args.region,
            config=config,
            **credentials,
        )
    # The credentials file Trent wrote, read by botocore's own credential chain.
    core = botocore.session.Session()
    core.set_config_variable("credentials_file", args.credentials)
    core.set_config_variable("config_file", os.devnull)
    session = boto3.Session(botocore_session=core, region_name=args.region)
    return session.client("kms", endpoint_url=args.endpoint_url, config=config)


def walkthrough(args):
    kms = make_client(args)
    plaintext = bytes(range(256)) + os.urandom(32)
    context = {"purpose": "walkthrough", "tool": "boto3"}

    # create_key with a description and tags
    created = kms.create_key(
        Description="made by boto3",
        Tags=[{"TagKey": "team", "TagValue": "platform"}],
    )["KeyMetadata"]
    key_id = created["KeyId"]
    key_arn = created["Arn"]
    equal(created["Description"], "made by boto3", "create_key Description")
    equal(created["KeyState"], "Enabled", "create_key KeyState")
    equal(created["KeySpec"], "SYMMETRIC_DEFAULT", "create_key KeySpec")
    # botocore turns the epoch-seconds timestamp into a datetime: the wire shape was right.
    check(hasattr(created["CreationDate"], "timestamp"), "CreationDate is not a timestamp")
    check(abs(created["CreationDate"].timestamp() - time.time()) < 300, "CreationDate is not now")
    tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
    equal(tags, [{"TagKey": "team", "TagValue": "platform"}], "list_resource_tags")
    step("create_key")

    # encrypt with an encryption context; decrypt without a key id
    enc = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)
    equal(enc["KeyId"], key_arn, "encrypt KeyId")
    equal(enc["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT", "encrypt EncryptionAlgorithm")
    ciphertext = enc["CiphertextBlob"]
    check(isinstance(ciphertext, bytes), "CiphertextBlob is not bytes")
    dec = kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext=context)
    equal(dec["Plaintext"], plaintext, "decrypt Plaintext")
    equal(dec["KeyId"], key_arn, "decrypt KeyId")
    step("encrypt and decrypt")

    # the encryption context is bound to the ciphertext
    expect_client_error(
        lambda: kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"purpose": "other"}),
        "InvalidCiphertextException",
        "",
        "decrypt with another encryption context",
    )
    expect_client_error(
        lambda: kms.decrypt(CiphertextBlob=ciphertext),
        "InvalidCiphertextException",
        "",
        "decrypt without the encryption context",
    )
    step("encryption context mismatch")

    # aliases
    alias = "alias/boto3-walkthrough"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    via_alias = kms.encrypt(KeyId=alias, Plaintext=b"through the alias")
    equal(via_alias["KeyId"], key_arn, "encrypt via alias KeyId")
    equal(
        kms.decrypt(CiphertextBlob=via_alias["CiphertextBlob"])["Plaintext"],
        b"through the alias",
        "decrypt of the alias ciphertext",
    )
    aliases = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    check(alias in aliases, f"{alias} not in list_aliases: {sorted(aliases)}")
    equal(aliases[alias].get("TargetKeyId"), key_id, "list_aliases TargetKeyId")
    step("alias")

    # generate_data_key
    data_key = kms.generate_data_key(KeyId=alias, KeySpec="AES_256", EncryptionContext=context)
    equal(len(data_key["Plaintext"]), 32, "generate_data_key Plaintext length")
    decrypted = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext=context)
    equal(decrypted["Plaintext"], data_key["Plaintext"], "decrypted data key")
    step("generate_data_key")

    # a disabled key refuses cryptographic operations
    kms.disable_key(KeyId=key_id)
    expect_client_error(
        lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
        "DisabledException",
        f"{key_arn} is disabled.",
        "encrypt with a disabled key",
    )
    expect_client_error(
        lambda: kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext=context),
        "DisabledException",
        f"{key_arn} is disabled.",
        "decrypt with a disabled key",
    )
    kms.enable_key(KeyId=key_id)
    equal(state(kms, key_id), "Enabled", "state after enable_key")
    step("disabled key")

    # deletion is scheduled and cancelled
    scheduled = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    equal(scheduled["KeyState"], "PendingDeletion", "schedule_key_deletion KeyState")
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    equal(meta["KeyState"], "PendingDeletion", "describe_key KeyState while pending deletion")
    days = (meta["DeletionDate"].timestamp() - time.time()) / 86400
    check(6.99 < days < 7.01, f"DeletionDate is {days} days away, not 7")
    kms.cancel_key_deletion(KeyId=key_id)
    equal(state(kms, key_id), "Disabled", "state after cancel_key_deletion")
    kms.enable_key(KeyId=key_id)
    step("schedule and cancel deletion")

    # pagination of list_keys
    expected = {key_id}
    for i in range(4):
        expected.add(kms.create_key(Description=f"page {i}")["KeyMetadata"]["KeyId"])
    seen = []
    pages = 0
    marker = None
    while True:
        request = {"Limit": 2} if marker is None else {"Limit": 2, "Marker": marker}
        page = kms.list_keys(**request)
        pages += 1
        check(len(page["Keys"]) <= 2, f"page {pages} has {len(page['Keys'])} keys, over Limit 2")
        seen.extend(k["KeyId"] for k in page["Keys"])
        if not page["Truncated"]:
            check("NextMarker" not in page, "the last page carries a NextMarker")
            break
        check(page.get("NextMarker"), f"page {pages} is truncated but has no NextMarker")
        marker = page["NextMarker"]
        check(pages < 10, "list_keys does not end")
    equal(pages, 3, "number of list_keys pages for 5 keys at Limit 2")
    equal(len(seen), len(set(seen)), "list_keys returned a key twice")
    equal(set(seen), expected, "keys seen through list_keys pages")
    paginated = [
        k["KeyId"]
        for page in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2})
        for k in page["Keys"]
    ]
    equal(paginated, seen, "keys seen through the list_keys paginator")
    expect_client_error(
        lambda: kms.list_keys(Limit=2, Marker="not-a-marker"),
        "InvalidMarkerException",
        None,
        "list_keys with a bad marker",
    )
    step("list_keys pagination")

    # secure mode: the right access key with the wrong secret is refused
    with open(args.credentials) as f:
        access_key = next(
            line.split("=", 1)[1].strip() for line in f if line.startswith("aws_access_key_id")
        )
    wrong = make_client(args, aws_access_key_id=access_key, aws_secret_access_key="not-the-secret")
    expect_client_error(
        lambda: wrong.list_keys(),
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your"
        " AWS Secret Access Key and signing method. Consult the service documentation for details.",
        "list_keys with a wrong secret",
    )
    unknown = make_client(
        args, aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x" * 40
    )
    expect_client_error(
        lambda: unknown.list_keys(),
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        "list_keys with an unknown access key",
    )
    step("wrong credentials refused")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--credentials", required=True, help="shared credentials file")
    parser.add_argument("--region", required=True)
    args = parser.parse_args()
    try:
        walkthrough(args)
    except Mismatch as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 1
    except ClientError as err:
        print(f"FAIL: unexpected {err.response.get('Error')}: {err}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
