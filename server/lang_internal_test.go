package main

import "testing"

func TestPreferredLang(t *testing.T) {
	for header, want := range map[string]string{
		"":                             "zh",
		"en":                           "en",
		"en-US":                        "en",
		"en-GB,en;q=0.9":               "en",
		"fr, en;q=0.5":                 "en",
		"fr-CH, fr;q=0.9, en;q=0.8":    "en",
		"zh-CN":                        "zh",
		"zh-TW, en;q=0.9":              "en", // Traditional: English before Simplified, as CLDR matching has it
		"zh-TW":                        "zh",
		"zh-Hant-HK":                   "zh",
		"en;q=0.4, zh;q=0.8":           "zh",
		"zh;q=0.4, en;q=0.8":           "en",
		"en-US,en;q=0.9,zh;q=0.5":      "en",
		"zh-CN,zh;q=0.9,en;q=0.8":      "zh",
		"fr, de":                       "zh",
		"*":                            "zh",
		"en;q=0":                       "zh",
		"garbage;;;q=x":                "zh",
		"ja, en-US;q=0.7, zh-CN;q=0.3": "en",
	} {
		if got := preferredLang(header); got != want {
			t.Errorf("preferredLang(%q) = %s, want %s", header, got, want)
		}
	}
}
