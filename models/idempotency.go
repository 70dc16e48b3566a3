package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
)

// Idempotency of money-, seat- and slot-moving requests: one mechanism,
// used by every such operation (docs/input-and-retries.md).
//
// The key's row is written in the same transaction as the request's effects
// and holds the request's result. A retry therefore either finds that
// committed row and replays the result, or, while the first request is
// still running, waits on the row's unique key (PostgreSQL blocks the
// conflicting INSERT until the first transaction ends; SQLite transactions
// queue on the write lock) and then finds it. A request that fails leaves
// no row, so the key stays free for a corrected retry.

// Refusal codes of the idempotency mechanism.
const (
	// CodeIdempotencyKeyReused: the key was used by this caller for a
	// different request (another operation or other parameters).
	CodeIdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"
)

// ErrIdempotencyKeyReused compares with errors.Is.
var ErrIdempotencyKeyReused = E(CodeIdempotencyKeyReused, "该幂等键已用于另一笔不同的请求，请使用新的幂等键",
	"this idempotency key was already used for a different request; use a new key").On("idempotencyKey")

// MaxIdempotencyKeyLen bounds a client's idempotency key, in bytes.
const MaxIdempotencyKeyLen = 128

// IdempotencyRetention is how long keys are kept at least: a retry within
// it replays the first result.
const IdempotencyRetention = 24 * time.Hour

// IdempotencyScope is the caller a key belongs to ("STAFF:<id>",
// "OWNER:<id>"), so that two callers choosing the same key never meet.
// Empty for no caller.
func IdempotencyScope(p *auth.Principal) string {
	if p == nil {
		return ""
	}
	return string(p.Kind) + ":" + p.ID.String()
}

// Idempotent runs fn at most once per (scope, key) and returns its result,
// replaying the first result to every retry. scope is the caller (use
// IdempotencyScope), key the client's idempotency key, operation names the
// request ("wallet.topUp") and params are its parameters: a key used again
// with another operation or other parameters (compared by SHA-256 of the
// operation and the canonical JSON of params) is refused.
//
// The key's row is inserted first (INSERT ... ON CONFLICT DO NOTHING) in the
// same transaction as fn's effects (fn runs in it, or in the one already in
// ctx), so a concurrent retry waits until the first commits and then replays
// its stored JSON result: one effect, the same answer. If fn fails the
// transaction rolls back with the row, and the key stays free.
//
// An empty (blank) key is INVALID_ARGUMENT when required; otherwise fn just
// runs in a transaction. T must survive a JSON round trip; results should
// hold ids and values (callers re-read what they need).
//
// Codes: INVALID_ARGUMENT ("idempotencyKey": missing when required, longer
// than MaxIdempotencyKeyLen, control characters), IDEMPOTENCY_KEY_REUSED
// ("idempotencyKey"), and whatever fn returns.
func Idempotent[T any](ctx context.Context, db *DB, scope, key, operation string, params any, required bool,
	fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if strings.TrimSpace(key) == "" {
		if required {
			return zero, Invalid("idempotencyKey", "请提供幂等键（idempotencyKey）", "idempotencyKey is required")
		}
		var out T
		err := db.WithTx(ctx, func(ctx context.Context) error {
			var err error
			out, err = fn(ctx)
			return err
		})
		if err != nil {
			return zero, err
		}
		return out, nil
	}
	if err := checkIdempotencyKey(key); err != nil {
		return zero, err
	}
	if scope == "" {
		return zero, errors.New("models: idempotent request without a scope")
	}
	hash, err := requestHash(operation, params)
	if err != nil {
		return zero, err
	}
	var out T
	err = db.WithTx(ctx, func(ctx context.Context) error {
		conn := db.Conn(ctx)
		// Waits here while another transaction holds the same key.
		res := conn.Exec(`INSERT INTO idempotency_keys (scope, key, operation, request_hash, response, created_at)
			VALUES (?, ?, ?, ?, '', ?) ON CONFLICT (scope, key) DO NOTHING`, scope, key, operation, hash, db.Now(ctx))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return replay(conn, scope, key, operation, hash, &out)
		}
		v, err := fn(ctx)
		if err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("models: idempotent %s: encode result: %w", operation, err)
		}
		if err := conn.Exec(`UPDATE idempotency_keys SET response = ? WHERE scope = ? AND key = ?`,
			string(body), scope, key).Error; err != nil {
			return err
		}
		out = v
		return nil
	})
	if err != nil {
		return zero, err
	}
	return out, nil
}

// replay decodes the stored result of the key's first request into out.
func replay[T any](conn *gorm.DB, scope, key, operation, hash string, out *T) error {
	var row IdempotencyKey
	if err := conn.Where("scope = ? AND key = ?", scope, key).Take(&row).Error; err != nil {
		return fmt.Errorf("models: read idempotency key: %w", err)
	}
	if row.Operation != operation || row.RequestHash != hash {
		return ErrIdempotencyKeyReused
	}
	if row.Response == "" {
		// Only the transaction that inserted the row can see it without a
		// response: the same key used twice within one transaction.
		return fmt.Errorf("models: idempotency key %q reused within its own transaction", key)
	}
	var v T
	if err := json.Unmarshal([]byte(row.Response), &v); err != nil {
		return fmt.Errorf("models: idempotent %s: decode stored result: %w", operation, err)
	}
	*out = v
	return nil
}

func checkIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKeyLen {
		return Ef(CodeInvalidArgument, fmt.Sprintf("幂等键不能超过 %d 个字符", MaxIdempotencyKeyLen),
			"idempotencyKey is longer than %d bytes", MaxIdempotencyKeyLen).On("idempotencyKey")
	}
	if !PlainText(key, false) {
		return Invalid("idempotencyKey", "幂等键包含无效字符", "idempotencyKey contains invalid characters")
	}
	return nil
}

// requestHash is the SHA-256 of the operation and the canonical JSON of
// params (object keys sorted, no insignificant space), hex encoded.
func requestHash(operation string, params any) (string, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return "", fmt.Errorf("models: idempotent %s: encode params: %w", operation, err)
	}
	// Decoding into any and encoding again sorts object keys; UseNumber
	// keeps big integers exact.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("models: idempotent %s: canonical params: %w", operation, err)
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	sum.Write([]byte(operation))
	sum.Write([]byte{0})
	sum.Write(canon)
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// PruneIdempotencyKeys deletes the keys created before olderThan, and
// returns how many. Keys younger than IdempotencyRetention are kept whatever
// olderThan says, so a retry within a day always replays.
func (db *DB) PruneIdempotencyKeys(ctx context.Context, olderThan time.Time) (int64, error) {
	if limit := db.Now(ctx).Add(-IdempotencyRetention); olderThan.After(limit) {
		olderThan = limit
	}
	res := db.Conn(ctx).Where("created_at < ?", olderThan.UTC()).Delete(&IdempotencyKey{})
	return res.RowsAffected, res.Error
}

// CheckIdempotencyKey validates a required idempotency key that a
// capability keeps itself (on its own row) rather than through Idempotent.
//
// Codes: INVALID_ARGUMENT ("idempotencyKey": missing, too long, or with
// characters a key may not hold).
func CheckIdempotencyKey(key string) error {
	if key == "" {
		return Invalid("idempotencyKey", "请提供幂等键（idempotencyKey）", "idempotencyKey is required")
	}
	return checkIdempotencyKey(key)
}
