-- +goose Up
-- GraphQL documents clients refer to by hash (automatic persisted queries),
-- shared by every instance: hash is the lower-case hex SHA-256 of document.
-- Only documents that passed validation and the limits are stored
-- (docs/transport.md). Read by primary key only.
CREATE TABLE persisted_documents (
    hash        text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
    document    text NOT NULL CHECK (document <> ''),
    created_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE persisted_documents;
