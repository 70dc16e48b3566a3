package authtest

import (
	"fmt"
	"strconv"
	"time"
)

// PayClosed marks a CLOSED order paid: WeChat Pay's rare race where the
// owner's payment went through as the order was being closed, so money
// arrives for a payment the server recorded closed.
func (f *FakeWeChatPay) PayClosed(outTradeNo string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[outTradeNo]
	if !ok || o.State != "CLOSED" {
		return fmt.Errorf("fake wechat pay: no closed order %s", outTradeNo)
	}
	o.State, o.SuccessTime = "SUCCESS", time.Now()
	o.TransactionID = "4200" + strconv.FormatInt(time.Now().UnixNano(), 10)[:16]
	return nil
}
