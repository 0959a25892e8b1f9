-- name: quarantine_reasons
-- description: open quarantine items per category and reason code
-- params: none
SELECT category, reason, count(*) AS items
FROM (SELECT category, unnest(reasons) AS reason FROM quarantine WHERE status = 'open')
GROUP BY category, reason
ORDER BY items DESC
