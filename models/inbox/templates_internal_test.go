package inbox

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// The payload of every kind: name, car and store with their fallbacks,
// a title and a body, each within the SMS limit on one variable and none
// empty but the plate of a car that has none.
func TestPayload(t *testing.T) {
	long := strings.Repeat("很长的名字", 10) // 50 runes
	for _, c := range []struct {
		name                     string
		to                       directory.Addressee
		kind, title              string
		wantName, wantCar, store string
		wantBody                 string
	}{
		{name: "car and store", kind: outbox.KindApprovalNeeded, title: "维修项目待确认",
			to:       directory.Addressee{Owner: models.Owner{Name: "张三"}, Plate: "粤B12345", Model: "凯美瑞", Store: "深圳福田店"},
			wantName: "张三", wantCar: "粤B12345（凯美瑞）", store: "深圳福田店",
			wantBody: "您的粤B12345（凯美瑞）在深圳福田店有新增维修项目待您确认"},
		{name: "no car, no store", kind: outbox.KindApprovalNeeded, title: "维修项目待确认",
			to:       directory.Addressee{Owner: models.Owner{Name: "张三"}},
			wantName: "张三", wantCar: noCar, store: noStore, wantBody: "您的爱车在门店有新增维修项目待您确认"},
		{name: "plate only", kind: outbox.KindInsuranceExpiring, title: "续保提醒",
			to:       directory.Addressee{Owner: models.Owner{Name: "李四"}, Plate: "粤B12345"},
			wantName: "李四", wantCar: "粤B12345", store: noStore, wantBody: "您的粤B12345车险即将到期，请及时续保"},
		{name: "model only (not registered yet)", kind: outbox.KindMaintenanceDue, title: "保养提醒",
			to:       directory.Addressee{Owner: models.Owner{Name: "李四"}, Model: "凯美瑞"},
			wantName: "李四", wantCar: "凯美瑞", store: noStore, wantBody: "您的凯美瑞即将到期保养，请提前预约到店"},
		{name: "no name", kind: outbox.KindBirthday, title: "生日快乐",
			to: directory.Addressee{}, wantName: noName, wantCar: noCar, store: noStore, wantBody: "祝您生日快乐，会员生日礼遇已送达"},
		{name: "everything too long", kind: outbox.KindReadyForPickup, title: long,
			to:       directory.Addressee{Owner: models.Owner{Name: long}, Plate: "粤B12345", Model: long, Store: long},
			wantName: outbox.Cut(long, outbox.MaxParamRunes), wantCar: outbox.Cut("粤B12345（"+long+"）", outbox.MaxParamRunes),
			store: outbox.Cut(long, outbox.MaxParamRunes)},
		{name: "a kind with no text of its own", kind: "SOMETHING_NEW", title: "新消息",
			to: directory.Addressee{Owner: models.Owner{Name: "王五"}}, wantName: "王五", wantCar: noCar, store: noStore, wantBody: "新消息"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := payload(&c.to, &Notification{Kind: c.kind, Title: c.title})
			for k, v := range p {
				if n := utf8.RuneCountInString(v); n > outbox.MaxParamRunes || (v == "" && k != VarPlate) {
					t.Errorf("%s = %q: %d runes", k, v, n)
				}
			}
			if p[VarName] != c.wantName || p[VarCar] != c.wantCar || p[VarStore] != c.store || p[VarPlate] != c.to.Plate {
				t.Errorf("payload %v; want name %q, car %q, store %q, plate %q", p, c.wantName, c.wantCar, c.store, c.to.Plate)
			}
			if c.wantBody != "" && p[VarBody] != c.wantBody {
				t.Errorf("body %q; want %q", p[VarBody], c.wantBody)
			}
			if p[VarTitle] != outbox.Cut(c.title, outbox.MaxParamRunes) {
				t.Errorf("title %q", p[VarTitle])
			}
		})
	}
}

// Every kind sent beyond the inbox has a text, and docs/notifications.md
// lists its SMS template as the code has it, for stores to register.
func TestEveryKindHasItsSMSTemplateDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/notifications.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range outbox.Kinds() {
		tpl := SMSTemplate(k)
		if tpl == "" {
			t.Errorf("%s has no text", k)
			continue
		}
		if !strings.Contains(string(doc), "| "+k+" | "+tpl+" |") {
			t.Errorf("docs/notifications.md lacks the row\n| %s | %s |", k, tpl)
		}
	}
}
