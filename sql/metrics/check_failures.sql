-- name: check_failures
-- description: failing validation checks per check and policy (latest runs included)
-- params: none
SELECT policy, "check", count(DISTINCT asset_id) AS assets
FROM checks
WHERE NOT passed
GROUP BY policy, "check"
ORDER BY assets DESC
