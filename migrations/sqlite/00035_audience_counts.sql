-- +goose Up
-- Audience counts and the campaign fan-out at the group's size (docs/crm.md,
-- "At the group's size"): the same indexes as on PostgreSQL, where SQLite,
-- which has no INCLUDE, takes the carried columns as trailing key columns.
DROP INDEX owner_segments_store_idx;
CREATE INDEX owner_segments_store_idx ON owner_segments (store_id, segment, churn_risk, owner_id, last_visit_at);
DROP INDEX owner_segments_risk_idx;
CREATE INDEX owner_segments_risk_idx ON owner_segments (churn_risk, segment, store_id, owner_id, last_visit_at);
CREATE INDEX owners_consent_idx ON owners (id, marketing_consent);
DROP INDEX vehicles_insurance_expiry_idx;
CREATE INDEX vehicles_insurance_expiry_idx ON vehicles (insurance_expiry, owner_id);
DROP INDEX vehicles_inspection_due_idx;
CREATE INDEX vehicles_inspection_due_idx ON vehicles (inspection_due, owner_id);
DROP INDEX vehicles_model_idx;
CREATE INDEX vehicles_model_idx ON vehicles (model, model_year, owner_id, purchase_date);

-- +goose Down
DROP INDEX vehicles_model_idx;
CREATE INDEX vehicles_model_idx ON vehicles (model, model_year);
DROP INDEX vehicles_inspection_due_idx;
CREATE INDEX vehicles_inspection_due_idx ON vehicles (inspection_due);
DROP INDEX vehicles_insurance_expiry_idx;
CREATE INDEX vehicles_insurance_expiry_idx ON vehicles (insurance_expiry);
DROP INDEX owners_consent_idx;
DROP INDEX owner_segments_risk_idx;
CREATE INDEX owner_segments_risk_idx ON owner_segments (churn_risk, segment);
DROP INDEX owner_segments_store_idx;
CREATE INDEX owner_segments_store_idx ON owner_segments (store_id, segment, churn_risk);
