package demo

// The demo dealer group, as data. Everything here is fixed so that the README
// and the API tour can name people, plates and VINs; only the dates that must
// stay near "now" (insurance, inspection, mileage readings) are offsets from
// the day Seed runs.

type storeData struct {
	Code, Name, City, Address, Phone string
	Bays                             int
}

var stores = []storeData{
	{"SZ01", "深圳福田店", "深圳", "深圳市福田区深南大道 7008 号", "0755-83886600", 8},
	{"GZ01", "广州天河店", "广州", "广州市天河区黄埔大道西 638 号", "020-38886600", 6},
}

// Opening hours, the same at both stores: Monday to Saturday 08:30-18:00,
// Sunday 09:00-17:00.
const (
	weekdayOpens, weekdayCloses = "08:30", "18:00"
	sundayOpens, sundayCloses   = "09:00", "17:00"
	slotMinutes                 = 60
)

// staffData is one store employee; usernames are <Login>.<store code>.
type staffData struct {
	Login string // "advisor", "technician1", ...
	Role  string
	Name  [2]string // at SZ01, at GZ01
}

var storeStaff = []staffData{
	{"advisor", "ADVISOR", [2]string{"李明", "林嘉豪"}},
	{"foreman", "FOREMAN", [2]string{"王建国", "梁永健"}},
	{"technician1", "TECHNICIAN", [2]string{"陈志强", "何伟明"}},
	{"technician2", "TECHNICIAN", [2]string{"刘海涛", "冯家乐"}},
	{"crm", "CRM", [2]string{"黄晓燕", "邓美玲"}},
	{"events", "EVENTS", [2]string{"周婷婷", "曾思敏"}},
	{"cashier", "CASHIER", [2]string{"吴丽华", "彭雅琪"}},
	{"manager", "MANAGER", [2]string{"张志刚", "罗国强"}},
}

// AdminUsername is the group administrator, assigned to every store.
const AdminUsername = "admin"

const adminName = "赵立新"

// vehicleData is one car. VIN: "LVGB" + VDS + check digit + model-year code
// + plant "G" + serial; the check digit is computed.
type vehicleData struct {
	Model    string
	VDS      string // VIN positions 5-8, per model
	Year     int
	Serial   int
	Colour   string
	Plate    string
	Store    string // selling store code
	Purchase string // YYYY-MM-DD
	Km       int
	// Days from the seed day to the insurance expiry and the inspection due
	// date: some insurance expires within 60 days so reminders have work.
	InsuranceIn, InspectionIn int
}

type ownerData struct {
	Name, Gender, Birthday, Home string
	Consent                      bool
	Vehicles                     []vehicleData
}

// owners[i] has phone +86138000000(i+1). Owners 8 and 20 bought their car at
// the other store; 张伟 (SZ01) and 张磊 (GZ01) share a surname so a name
// search shows the store scope.
var owners = []ownerData{
	{"张伟", "MALE", "1985-03-12", "SZ01", true, []vehicleData{
		{"Camry", "E4AK", 2023, 101, "珍珠白", "粤B6R8M2", "SZ01", "2023-05-18", 38600, 21, 420},
		{"bZ4X", "B8EV", 2024, 102, "极光蓝", "粤BD12345", "SZ01", "2024-09-02", 15200, 280, 1010},
	}},
	{"王芳", "FEMALE", "1990-07-08", "SZ01", false, []vehicleData{
		{"Corolla", "A2BM", 2022, 103, "铂金银", "粤B3K7P1", "SZ01", "2022-03-26", 52300, 45, 200},
	}},
	{"李娜", "FEMALE", "1988-11-23", "SZ01", true, []vehicleData{
		{"RAV4", "A4CR", 2021, 104, "曜石黑", "粤B9T2C6", "SZ01", "2021-08-14", 76800, 130, 25},
	}},
	{"刘洋", "MALE", "1982-05-30", "SZ01", false, []vehicleData{
		{"Highlander", "U7HL", 2023, 105, "曜石黑", "粤B5H6L8", "SZ01", "2023-11-05", 31200, 330, 720},
		{"Corolla", "A2BM", 2019, 106, "珍珠白", "粤B2E4N7", "SZ01", "2019-06-20", 118400, 58, 12},
	}},
	{"陈静", "FEMALE", "1993-02-14", "SZ01", true, []vehicleData{
		{"C-HR", "X1CH", 2022, 107, "魅力红", "粤B8M3D5", "SZ01", "2022-07-09", 40100, 210, 560},
	}},
	{"杨磊", "MALE", "1979-09-09", "SZ01", true, []vehicleData{
		{"Sienna", "L3SN", 2024, 108, "铂金银", "粤B1S9W3", "SZ01", "2024-01-16", 28700, 36, 800},
		{"Camry", "E4AK", 2020, 109, "曜石黑", "粤B7A5X2", "SZ01", "2020-10-28", 96500, 95, 40},
		{"RAV4", "A4CR", 2023, 110, "珍珠白", "粤B4Y8F6", "SZ01", "2023-04-03", 35400, 170, 600},
	}},
	{"赵敏", "FEMALE", "1995-12-01", "SZ01", false, []vehicleData{
		{"bZ4X", "B8EV", 2025, 111, "珍珠白", "粤BF36820", "SZ01", "2025-06-12", 9800, 9, 1300},
	}},
	{"黄强", "MALE", "1987-04-18", "SZ01", true, []vehicleData{
		{"Camry", "E4AK", 2021, 112, "铂金银", "粤A6P2K9", "GZ01", "2021-12-20", 70300, 250, 150},
	}},
	{"周杰", "MALE", "1991-08-25", "SZ01", false, []vehicleData{
		{"RAV4", "A4CR", 2024, 113, "极光蓝", "粤B3G6U4", "SZ01", "2024-05-07", 21900, 52, 900},
	}},
	{"吴婷", "FEMALE", "1996-06-06", "SZ01", true, []vehicleData{
		{"Corolla", "A2BM", 2023, 114, "魅力红", "粤B8V1J3", "SZ01", "2023-09-15", 26500, 300, 700},
	}},
	{"徐涛", "MALE", "1984-10-10", "SZ01", false, []vehicleData{
		{"Highlander", "U7HL", 2022, 115, "铂金银", "粤B2L9R5", "SZ01", "2022-02-11", 61800, 75, 300},
		{"bZ3", "B3EV", 2024, 116, "珍珠白", "粤BD28516", "SZ01", "2024-12-01", 18800, 4, 1100},
	}},
	{"孙丽", "FEMALE", "1989-01-27", "SZ01", true, []vehicleData{
		{"Camry", "E4AK", 2025, 117, "曜石黑", "粤B6N4T8", "SZ01", "2025-03-22", 12600, 116, 1200},
	}},
	{"马超", "MALE", "1986-03-03", "SZ01", false, []vehicleData{
		{"RAV4", "A4CR", 2020, 118, "铂金银", "粤B9C5H2", "SZ01", "2020-04-30", 88200, 150, 55},
	}},
	{"朱琳", "FEMALE", "1992-09-19", "GZ01", true, []vehicleData{
		{"Corolla", "A2BM", 2024, 201, "珍珠白", "粤A3M8B6", "GZ01", "2024-08-08", 17400, 27, 950},
	}},
	{"胡斌", "MALE", "1983-12-12", "GZ01", false, []vehicleData{
		{"Camry", "E4AK", 2022, 202, "曜石黑", "粤A7D2S4", "GZ01", "2022-05-19", 58900, 190, 180},
		{"Sienna", "L3SN", 2023, 203, "铂金银", "粤A1W6E9", "GZ01", "2023-12-09", 30500, 49, 760},
	}},
	{"郭欣", "FEMALE", "1994-04-04", "GZ01", true, []vehicleData{
		{"C-HR", "X1CH", 2021, 204, "极光蓝", "粤A5R3N7", "GZ01", "2021-09-27", 64700, 230, 20},
	}},
	{"何军", "MALE", "1978-07-21", "GZ01", false, []vehicleData{
		{"Highlander", "U7HL", 2020, 205, "曜石黑", "粤A8F1C3", "GZ01", "2020-07-03", 103900, 60, 90},
	}},
	{"高燕", "FEMALE", "1990-02-02", "GZ01", true, []vehicleData{
		{"bZ4X", "B8EV", 2023, 206, "珍珠白", "粤AD67890", "GZ01", "2023-10-18", 33600, 140, 660},
	}},
	{"林峰", "MALE", "1985-05-05", "GZ01", true, []vehicleData{
		{"RAV4", "A4CR", 2022, 207, "铂金银", "粤A2K5T8", "GZ01", "2022-11-14", 47300, 18, 400},
		{"Corolla", "A2BM", 2024, 208, "魅力红", "粤A9N7X1", "GZ01", "2024-02-23", 22100, 270, 850},
		{"Camry", "E4AK", 2018, 209, "珍珠白", "粤A4B3G6", "GZ01", "2018-08-31", 142600, 85, 8},
	}},
	{"罗霞", "FEMALE", "1997-10-30", "GZ01", false, []vehicleData{
		{"Corolla", "A2BM", 2021, 119, "珍珠白", "粤B5U7M9", "SZ01", "2021-04-17", 68200, 33, 240},
	}},
	{"张磊", "MALE", "1988-08-08", "GZ01", true, []vehicleData{
		{"Camry", "E4AK", 2024, 210, "铂金银", "粤A6H9L2", "GZ01", "2024-06-26", 24800, 160, 880},
	}},
	{"梁慧", "FEMALE", "1991-11-11", "GZ01", false, []vehicleData{
		{"Sienna", "L3SN", 2022, 211, "曜石黑", "粤A3S1Y5", "GZ01", "2022-09-06", 55600, 55, 280},
	}},
	{"谢鹏", "MALE", "1981-06-15", "GZ01", true, []vehicleData{
		{"Highlander", "U7HL", 2024, 212, "珍珠白", "粤A7E4W8", "GZ01", "2024-03-11", 26300, 240, 830},
		{"bZ3", "B3EV", 2025, 213, "极光蓝", "粤AF52073", "GZ01", "2025-11-20", 6400, 360, 1450},
	}},
	{"宋雪", "FEMALE", "1995-03-21", "GZ01", true, []vehicleData{
		{"RAV4", "A4CR", 2023, 214, "魅力红", "粤A8P6D3", "GZ01", "2023-06-29", 36900, 11, 630},
	}},
	{"唐浩", "MALE", "1987-12-25", "GZ01", false, []vehicleData{
		{"Camry", "E4AK", 2019, 215, "曜石黑", "粤A1C8R4", "GZ01", "2019-12-16", 99700, 105, 35},
	}},
	{"韩梅", "FEMALE", "1993-07-07", "GZ01", true, []vehicleData{
		{"C-HR", "X1CH", 2023, 216, "铂金银", "粤A5G2V7", "GZ01", "2023-02-05", 39200, 320, 520},
	}},
}

// modelYearCode is position 10 of a VIN for model years 2010-2030 (the
// letters I, O, Q, U, Z and the digit 0 are never used there).
func modelYearCode(year int) byte {
	const codes = "ABCDEFGHJKLMNPRSTVWXY"
	return codes[year-2010]
}

const brand = "Toyota"
