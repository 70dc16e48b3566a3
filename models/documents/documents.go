// Package documents keeps the GraphQL documents clients refer to by their
// SHA-256 hash (automatic persisted queries) in the database, so that every
// instance of the server knows a document any of them was sent once.
// docs/transport.md explains the protocol; graph/ decides what to store.
package documents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/models"
)

// Document is a row of persisted_documents.
type Document struct {
	Hash      string `gorm:"primaryKey"`
	Document  string
	CreatedAt time.Time
}

// TableName names the persisted_documents table.
func (Document) TableName() string { return "persisted_documents" }

// Hash is the key a document is kept under: the lower-case hex SHA-256 of
// its text, as Apollo's persisted-query link and graphql-codegen compute it.
func Hash(document string) string {
	sum := sha256.Sum256([]byte(document))
	return hex.EncodeToString(sum[:])
}

// Store keeps documents in the database.
type Store struct{ DB *models.DB }

var errHash = models.E(models.CodeInvalidArgument, "文档的哈希不符", "the hash is not the document's SHA-256").On("hash")

// Lookup returns the document kept under hash; ok is false when there is
// none. Errors: the database's (UNAVAILABLE, BUSY).
func (s *Store) Lookup(ctx context.Context, hash string) (document string, ok bool, err error) {
	var d Document
	err = s.DB.Conn(ctx).Where("hash = ?", hash).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return d.Document, true, nil
}

// Register keeps document under hash, which must be its Hash; a document
// kept already stays as it is (instances registering it at once agree on
// the primary key). Errors: INVALID_ARGUMENT (hash), the database's.
func (s *Store) Register(ctx context.Context, hash, document string) error {
	if document == "" || Hash(document) != hash {
		return errHash
	}
	return s.DB.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&Document{Hash: hash, Document: document}).Error
}
