package types

import "strings"

// ZoneAbbrevOffset returns the offset in seconds east of UTC of a time zone
// abbreviation (case-insensitive) from PostgreSQL's "Default" abbreviation
// set. It is the one table behind both timestamp input ('... SAST') and
// AT TIME ZONE 'SAST'. Abbreviations whose meaning changed over the years
// (MSK, VET) carry today's offset.
func ZoneAbbrevOffset(name string) (int64, bool) {
	off, ok := zoneAbbrevs[strings.ToLower(name)]
	return off, ok
}

// zoneAbbrevs holds the fixed-offset entries of PostgreSQL's Default
// abbreviation set, in seconds east of UTC.
var zoneAbbrevs = map[string]int64{
	// Universal.
	"gmt": 0, "uct": 0, "ut": 0, "utc": 0, "z": 0, "zulu": 0,
	// North America.
	"ast": -14400, "adt": -10800, "est": -18000, "edt": -14400,
	"cst": -21600, "cdt": -18000, "mst": -25200, "mdt": -21600,
	"pst": -28800, "pdt": -25200, "akst": -32400, "akdt": -28800,
	"hst": -36000, "nst": -12600, "ndt": -9000,
	// South America.
	"art": -10800, "brt": -10800, "brst": -7200, "bot": -14400,
	"clt": -14400, "clst": -10800, "cot": -18000, "pet": -18000,
	"pyt": -14400, "uyt": -10800, "uyst": -7200, "vet": -14400,
	// Europe.
	"wet": 0, "west": 3600, "bst": 3600, "cet": 3600, "cest": 7200,
	"met": 3600, "mest": 7200, "mez": 3600, "eet": 7200, "eest": 10800,
	"msk": 10800, "msd": 14400,
	// Africa.
	"wat": 3600, "cat": 7200, "sast": 7200, "eat": 10800,
	// Asia.
	"idt": 10800, "ist": 7200, "get": 14400, "azt": 14400,
	"pkt": 18000, "npt": 20700, "ict": 25200, "cct": 28800,
	"hkt": 28800, "sgt": 28800, "myt": 28800, "pht": 28800,
	"jst": 32400, "kst": 32400,
	// Australia and the Pacific.
	"awst": 28800, "acst": 34200, "acdt": 37800, "aest": 36000,
	"aedt": 39600, "nzst": 43200, "nzdt": 46800, "nzt": 43200,
	"fjt": 43200, "chast": 45900, "chadt": 49500,
}
