package authtest

import (
	"fmt"
	"strconv"
	"time"
)

// PayClosed marks a closed order paid: WeChat Pay took the owner's money
// for it although the merchant closed it (the payer confirmed as the close
// went through), which WeChat Pay reports as a success all the same. The
// server must not lose the money (it gives what was paid for, or refunds).
func (f *FakeWeChatPay) PayClosed(outTradeNo string) error { return f.payFrom(outTradeNo, "CLOSED") }

// payFrom marks an order in state paid now, without notifying.
func (f *FakeWeChatPay) payFrom(outTradeNo, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[outTradeNo]
	if !ok {
		return fmt.Errorf("fake wechat pay: no order %s", outTradeNo)
	}
	if o.State != state {
		return fmt.Errorf("fake wechat pay: order %s is %s, not %s", outTradeNo, o.State, state)
	}
	o.State, o.SuccessTime = "SUCCESS", time.Now()
	o.TransactionID = "4200" + strconv.FormatInt(time.Now().UnixNano(), 10)[:16]
	return nil
}
