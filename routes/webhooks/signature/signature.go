// Package signature is the import path the README used to give receivers for
// verifying LeadLex deliveries. The package now lives in gateway/signature,
// beside the delivery code that signs with it (a domain package must not sit
// under the HTTP routes); this one only forwards to it, so that receivers
// built against the old path keep compiling.
//
// Deprecated: import github.com/leadlex/api-gateway/gateway/signature.
package signature

import "github.com/leadlex/api-gateway/gateway/signature"

// Header names and values of a delivery, as in gateway/signature.
const (
	HeaderDeliveryID  = signature.HeaderDeliveryID
	HeaderTimestamp   = signature.HeaderTimestamp
	HeaderSignature   = signature.HeaderSignature
	HeaderWebhookID   = signature.HeaderWebhookID
	HeaderWebhookTime = signature.HeaderWebhookTime
	HeaderWebhookSig  = signature.HeaderWebhookSig
	UserAgent         = signature.UserAgent
)

// Verification errors: the same values as gateway/signature's, so that
// errors.Is matches either.
var (
	ErrMissingHeaders = signature.ErrMissingHeaders
	ErrTimestamp      = signature.ErrTimestamp
	ErrSignature      = signature.ErrSignature
)

// Signing, as in gateway/signature.
var (
	LeadLex  = signature.LeadLex
	Standard = signature.Standard
	Headers  = signature.Headers
)

// Verifying, as in gateway/signature.
var (
	VerifyLeadLex  = signature.VerifyLeadLex
	VerifyStandard = signature.VerifyStandard
	Verify         = signature.Verify
)
