package main

import (
	"testing"

	"github.com/ownerhub/ownerhub/auth/authtest"
)

// refundNotifyTo posts a refund notification to a server's refund notify
// endpoint.
func refundNotifyTo(t testing.TB, fake *authtest.FakeWeChatPay, s *testServer, n authtest.PayNotification) int {
	t.Helper()
	n.URL = s.URL + wechatPayRefundNotifyPath
	code, err := fake.Deliver(n)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
