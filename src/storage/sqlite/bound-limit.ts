/**
 * The LIMIT clause of every paged statement, its count bound at run time. A bare `LIMIT ?` made
 * SQLite prepare the statement again on every run: its planner (3.53 here) reads the value bound
 * to a LIMIT parameter, and a binding the plan read expires the plan whenever it is set. That cost
 * 6–9 µs a run for a key's grants (a read that is ~1 µs otherwise; every key's first use makes
 * it), 18 µs for a longer statement. Through CAST the planner sees an expression instead, and the
 * plans of our statements are the same either way (EXPLAIN QUERY PLAN, docs/performance-log.md).
 */
export const BOUND_LIMIT = 'LIMIT CAST(? AS INTEGER)';
