-- +goose Up
-- Audience counts and the campaign fan-out at the group's size (docs/crm.md,
-- "At the group's size"): a count reads the segment rows from the index
-- alone (index-only scan: the store or risk index carries the owner and the
-- last visit), leaves deleted accounts out by one hashed pass over
-- deleted_owners, and joins the owners only when consent is asked, through
-- an index that carries it. The car conditions find the matching cars by
-- their own indexes, which carry the owner for the semi-join.
DROP INDEX owner_segments_store_idx;
CREATE INDEX owner_segments_store_idx ON owner_segments (store_id, segment, churn_risk) INCLUDE (owner_id, last_visit_at);
DROP INDEX owner_segments_risk_idx;
CREATE INDEX owner_segments_risk_idx ON owner_segments (churn_risk, segment) INCLUDE (store_id, owner_id, last_visit_at);
CREATE INDEX owners_consent_idx ON owners (id) INCLUDE (marketing_consent);
DROP INDEX vehicles_insurance_expiry_idx;
CREATE INDEX vehicles_insurance_expiry_idx ON vehicles (insurance_expiry) INCLUDE (owner_id);
DROP INDEX vehicles_inspection_due_idx;
CREATE INDEX vehicles_inspection_due_idx ON vehicles (inspection_due) INCLUDE (owner_id);
DROP INDEX vehicles_model_idx;
CREATE INDEX vehicles_model_idx ON vehicles (model, model_year) INCLUDE (owner_id, purchase_date);

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
