"""Verifies signatures made by Trent with Python's `cryptography` (an implementation independent of
Node and of Trent), from the DER SubjectPublicKeyInfo that GetPublicKey returned.

Reads a JSON list of cases from stdin, each {spki, algorithm, messageType, message, signature}
(blobs in base64), and prints a JSON list with true/false (or an error string) per case.
MessageType DIGEST uses `Prehashed`, so the digest is not hashed again.
"""

import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.serialization import load_der_public_key

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def verify(case):
    key = load_der_public_key(base64.b64decode(case["spki"]))
    alg = case["algorithm"]
    message = base64.b64decode(case["message"])
    signature = base64.b64decode(case["signature"])
    if alg in ("ED25519_SHA_512", "ML_DSA_SHAKE_256"):
        key.verify(signature, message)
        return True
    hash_alg = HASHES[alg[-3:]]()
    chosen = utils.Prehashed(hash_alg) if case["messageType"] == "DIGEST" else hash_alg
    if alg.startswith("RSASSA_PSS"):
        pss = padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)
        key.verify(signature, message, pss, chosen)
    elif alg.startswith("RSASSA_PKCS1"):
        key.verify(signature, message, padding.PKCS1v15(), chosen)
    else:
        key.verify(signature, message, ec.ECDSA(chosen))
    return True


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            results.append(verify(case))
        except InvalidSignature:
            results.append(False)
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
            results.append(f"{type(e).__name__}: {e}")
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
