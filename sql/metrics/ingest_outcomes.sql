-- name: ingest_outcomes
-- description: files per ingest and outcome (the ledger), newest ingest first
-- params: none
SELECT ingest_id, outcome, count(*) AS files, sum(byte_size) AS bytes
FROM sources
GROUP BY ingest_id, outcome
ORDER BY ingest_id DESC, outcome
