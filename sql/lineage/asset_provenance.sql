-- name: asset_provenance
-- description: every input file that produced or repeated each stored asset, with its ingest
-- params: none
SELECT a.asset_id, a.source_uri AS first_seen, s.source_uri, s.outcome, s.ingest_id, s.seen_at
FROM assets a
JOIN sources s ON s.asset_id = a.asset_id
ORDER BY a.asset_id, s.seen_at
