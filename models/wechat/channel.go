package wechat

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ownerhub/ownerhub/models/outbox"
)

// Channel is the outbox's WeChat channel (outbox.ChannelWeChat): a
// delivery's address is the owner's openid, its template the kind whose
// configured template it is sent with, its payload the parameters that
// fill the template's fields. The permission it uses was taken when the
// delivery was written (Take).
type Channel struct {
	Service *Service
}

var (
	_ outbox.Channel   = (*Channel)(nil)
	_ outbox.Templated = (*Channel)(nil)
)

// HasTemplate reports whether kind has a subscription message template.
func (c *Channel) HasTemplate(kind string) bool {
	_, ok := c.Service.template(kind)
	return ok
}

// sendAnswer is subscribe/send's answer.
type sendAnswer struct {
	apiError
	MsgID json.Number `json:"msgid"`
}

// Send sends d as a subscription message (POST
// /cgi-bin/message/subscribe/send). A refused access token is replaced once
// and the message sent again. WeChat's refusals that no retry changes end
// the delivery FAILED (outbox.Permanent): 43101, the owner has no
// permission for the template (refused it, or used it up), which also
// zeroes the permissions stored for it; 40003, not an openid of the
// mini-program; 40037 and 47003, a template or data WeChat does not take.
// Throttling (45009), WeChat busy (-1), other codes, HTTP failures and
// timeouts are retried by the outbox.
func (c *Channel) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	s := c.Service
	t, ok := s.template(d.Template)
	if !ok {
		return "", outbox.Permanent(fmt.Errorf("wechat: no subscription template for %s", d.Template))
	}
	var params map[string]string
	if err := json.Unmarshal([]byte(d.Payload), &params); err != nil {
		return "", outbox.Permanent(fmt.Errorf("wechat: payload: %w", err))
	}
	data := map[string]map[string]string{}
	for _, f := range t.Fields {
		data[f.Key] = map[string]string{"value": Value(f.Type(), params[f.Param])}
	}
	state := s.Config.State
	if state == "" {
		state = StateFormal
	}
	body := map[string]any{"touser": d.Recipient, "template_id": t.ID, "data": data,
		"miniprogram_state": state, "lang": "zh_CN"}
	if page := params["page"]; page != "" {
		body["page"] = page
	}
	tok, err := s.AccessToken(ctx, "")
	if err != nil {
		return "", err
	}
	var a sendAnswer
	if err := s.post(ctx, "/cgi-bin/message/subscribe/send", tok, body, &a); err != nil {
		return "", err
	}
	if tokenRefused(a.Code) {
		if tok, err = s.AccessToken(ctx, tok); err != nil {
			return "", err
		}
		a = sendAnswer{}
		if err := s.post(ctx, "/cgi-bin/message/subscribe/send", tok, body, &a); err != nil {
			return "", err
		}
	}
	switch a.Code {
	case 0:
		if a.MsgID == "" {
			return "wechat:" + d.ID.String(), nil
		}
		return a.MsgID.String(), nil
	case errRefused:
		if d.OwnerID != nil {
			if err := s.revoke(context.WithoutCancel(ctx), *d.OwnerID, t.ID); err != nil {
				return "", fmt.Errorf("wechat: zero permissions: %w", err)
			}
		}
		return "", outbox.Permanent(&a.apiError)
	case errInvalidOpenID, errInvalidTemplate, errInvalidArgument:
		return "", outbox.Permanent(&a.apiError)
	case errThrottled, errSystemBusy:
		return "", fmt.Errorf("wechat: busy, later: %w", &a.apiError)
	}
	return "", &a.apiError
}
