package models

import (
	"errors"
	"fmt"
)

// Refusal codes of owners and vehicles. Clients branch on them; they never
// change once published.
const (
	// CodeInvalidPhone: not a mainland China mobile number.
	CodeInvalidPhone Code = "INVALID_PHONE"
	// CodeInvalidVIN: not 17 ISO 3779 characters, or the check digit is wrong.
	CodeInvalidVIN Code = "INVALID_VIN"
	// CodeInvalidPlate: not a mainland licence plate (7 characters, new-energy 8).
	CodeInvalidPlate Code = "INVALID_PLATE"
	// CodeVINAlreadyRegistered: another vehicle has this VIN.
	CodeVINAlreadyRegistered Code = "VIN_ALREADY_REGISTERED"
	// CodePlateAlreadyRegistered: another vehicle has this plate.
	CodePlateAlreadyRegistered Code = "PLATE_ALREADY_REGISTERED"
	// CodeMileageDecreased: an odometer reading lower than the last one.
	CodeMileageDecreased Code = "MILEAGE_DECREASED"
	// CodePaymentMethodUnavailable: this way to pay is not offered here (an
	// event priced only in money asked to be paid in points; a bill paid
	// from a wallet a store does not take).
	CodePaymentMethodUnavailable Code = "PAYMENT_METHOD_UNAVAILABLE"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrInvalidPhone           = E(CodeInvalidPhone, "请输入有效的中国大陆手机号码", "not a valid mainland China mobile number")
	ErrInvalidVIN             = E(CodeInvalidVIN, "车架号（VIN）无效", "invalid VIN")
	ErrInvalidPlate           = E(CodeInvalidPlate, "车牌号无效", "invalid licence plate")
	ErrVINAlreadyRegistered   = E(CodeVINAlreadyRegistered, "该车架号（VIN）已登记", "a vehicle with this VIN is already registered")
	ErrPlateAlreadyRegistered = E(CodePlateAlreadyRegistered, "该车牌号已登记在其他车辆上", "another vehicle already has this plate")
	ErrMileageDecreased       = E(CodeMileageDecreased, "里程数不能小于上次记录", "mileage may not be lower than the last reading")
)

// CheckReading is the odometer rule: a new reading of the vehicle's mileage
// (at check-in, or corrected by staff) may not be lower than the last one.
// The refusal is MILEAGE_DECREASED on field, naming the last reading.
func (v *Vehicle) CheckReading(field string, km int) error {
	if km >= v.MileageKm {
		return nil
	}
	e := Ef(CodeMileageDecreased, fmt.Sprintf("里程数不能小于上次记录（%d 公里）", v.MileageKm),
		"mileage may not be lower than the last reading (%d km)", v.MileageKm)
	return e.On(field)
}

// InvalidPhone is the INVALID_PHONE refusal for field, carrying the reason
// models/validate gave (in English; the Chinese message stays generic).
func InvalidPhone(field string, cause error) *Error {
	return withCause(ErrInvalidPhone, field, cause)
}

// InvalidVIN is the INVALID_VIN refusal for field with validate's reason.
func InvalidVIN(field string, cause error) *Error {
	return withCause(ErrInvalidVIN, field, cause)
}

// InvalidPlate is the INVALID_PLATE refusal for field with validate's reason.
func InvalidPlate(field string, cause error) *Error {
	return withCause(ErrInvalidPlate, field, cause)
}

// withCause copies base onto field; the English message becomes the cause's
// text (validate's errors read "invalid VIN: check digit ... is '2', want '1'").
func withCause(base *Error, field string, cause error) *Error {
	e := base.On(field)
	if cause != nil {
		e.en = cause.Error()
		if errors.Unwrap(cause) == nil {
			e.en = base.en + ": " + cause.Error()
		}
	}
	return e
}
