-- +goose Up
-- Automatic persisted queries: see the PostgreSQL migration.
CREATE TABLE persisted_documents (
    hash        TEXT NOT NULL PRIMARY KEY CHECK (length(hash) = 64),
    document    TEXT NOT NULL CHECK (document <> ''),
    created_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE persisted_documents;
