-- relation: stored_evidence_count
-- needs: finding_evidence
-- meaning: the rows of finding_evidence for the scope $scope (export compares it with the
--   count in check's stamp).
SELECT count(*) FROM finding_evidence WHERE month = $scope
