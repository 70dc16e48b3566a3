package signin

import "github.com/ownerhub/ownerhub/models"

// Refusal codes of sign-in, beside models.CodeRateLimited and
// models.CodeInvalidPhone. Clients branch on
// these; they never change.
const (
	CodeInvalidCode          models.Code = "INVALID_CODE"
	CodeCodeExpired          models.Code = "CODE_EXPIRED"
	CodeTooManyAttempts      models.Code = "TOO_MANY_ATTEMPTS"
	CodeInvalidBindingTicket models.Code = "INVALID_BINDING_TICKET"
	CodeWeChatAlreadyBound   models.Code = "WECHAT_ALREADY_BOUND"
	CodeWeChatCodeInvalid    models.Code = "WECHAT_CODE_INVALID"
	CodeWeChatNotConfigured  models.Code = "WECHAT_NOT_CONFIGURED"
	CodeWeChatPhoneInvalid   models.Code = "WECHAT_PHONE_CODE_INVALID"
	CodeWeChatPhoneForeign   models.Code = "WECHAT_PHONE_NOT_MAINLAND"
	CodeInvalidRefreshToken  models.Code = "INVALID_REFRESH_TOKEN"
	CodeRefreshTokenReused   models.Code = "REFRESH_TOKEN_REUSED"
	CodeInvalidCredentials   models.Code = "INVALID_CREDENTIALS"
)

// Errors returned by the operations. Compare with errors.Is, which matches on
// the code. Fields name the GraphQL input field the refusal is about.
var (
	ErrInvalidCode = models.E(CodeInvalidCode,
		"验证码错误", "the code is not correct").On("code")
	ErrCodeExpired = models.E(CodeCodeExpired,
		"验证码已过期，请重新获取", "the code has expired; request a new one").On("code")
	ErrTooManyAttempts = models.E(CodeTooManyAttempts,
		"验证码错误次数过多，请重新获取", "too many wrong tries for this code; request a new one").On("code")
	ErrInvalidBindingTicket = models.E(CodeInvalidBindingTicket,
		"微信绑定凭证无效或已过期，请重新用微信登录", "the WeChat binding ticket is invalid or expired; sign in with WeChat again").On("weChatBindingTicket")
	ErrWeChatAlreadyBound = models.E(CodeWeChatAlreadyBound,
		"该微信已绑定其他手机号", "this WeChat account is already bound to another phone number").On("weChatBindingTicket")
	ErrWeChatCodeInvalid = models.E(CodeWeChatCodeInvalid,
		"微信登录凭证无效或已使用，请重试", "the WeChat login code is invalid or already used; try again").On("code")
	ErrWeChatNotConfigured = models.E(CodeWeChatNotConfigured,
		"暂未开通微信登录，请使用手机号登录", "WeChat sign-in is not set up on this server; sign in with your phone number")
	ErrWeChatPhoneCodeInvalid = models.E(CodeWeChatPhoneInvalid,
		"微信手机号授权已失效，请重新授权或使用短信验证码登录", "the WeChat phone number code is invalid or already used; ask again or sign in by SMS").On("phoneCode")
	ErrWeChatPhoneNotMainland = models.E(CodeWeChatPhoneForeign,
		"仅支持中国大陆手机号，请使用短信验证码登录", "only mainland China numbers can sign in; this WeChat account's number is not one").On("phoneCode")
	ErrInvalidRefreshToken = models.E(CodeInvalidRefreshToken,
		"登录已失效，请重新登录", "the session has ended; sign in again").On("refreshToken")
	ErrRefreshTokenReused = models.E(CodeRefreshTokenReused,
		"登录凭证已被使用过，为安全起见已退出登录，请重新登录", "this refresh token was already used; the session was ended for safety, sign in again").On("refreshToken")
	ErrInvalidCredentials = models.E(CodeInvalidCredentials,
		"用户名或密码错误", "wrong username or password")
)
