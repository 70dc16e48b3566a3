-- +goose Up
-- Erased owners' phones were kept as a plain SHA-256 digest, which anyone
-- holding the table could reverse by hashing every mobile number. They are
-- now keyed digests (HMAC under a secret of the deployment; docs/referrals.md,
-- "Privacy"). The old digests cannot be turned into keyed ones without the
-- phones, which are gone: they are deleted. A phone erased before this
-- migration is no longer refused as SAME_PHONE if it signs up again with a
-- referral code.
DELETE FROM referral_erased_phones;

-- +goose Down
-- Nothing to restore: the deleted digests were one-way.
SELECT 1;
