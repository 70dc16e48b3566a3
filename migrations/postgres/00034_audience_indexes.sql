-- +goose Up
-- Audience counts over the whole group (docs/crm.md, bench/README.md "CRM"):
-- a group-wide segment or churn-risk condition reads the segment rows by
-- risk and segment rather than every row; the car conditions of a
-- group-wide audience find the cars due for insurance or inspection, or of
-- a model, by range rather than reading every car. A store's audiences
-- start from owner_segments_store_idx and read each owner's cars by
-- vehicles_owner_idx, as before.
CREATE INDEX owner_segments_risk_idx ON owner_segments (churn_risk, segment);
CREATE INDEX vehicles_insurance_expiry_idx ON vehicles (insurance_expiry);
CREATE INDEX vehicles_inspection_due_idx ON vehicles (inspection_due);
CREATE INDEX vehicles_model_idx ON vehicles (model, model_year);

-- +goose Down
DROP INDEX vehicles_model_idx;
DROP INDEX vehicles_inspection_due_idx;
DROP INDEX vehicles_insurance_expiry_idx;
DROP INDEX owner_segments_risk_idx;
