package keyring_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/keyring"
)

// ParseString of an empty string, which os.Getenv returns for an unset
// variable, says that no keys were given and which command makes a key
// set, rather than complaining about the format of entry 0.
func TestParseStringEmptySaysWhatIsMissing(t *testing.T) {
	for _, s := range []string{"", " \n\t"} {
		_, err := keyring.ParseString(s)
		if !errors.Is(err, keyring.ErrInvalidKeySet) {
			t.Fatalf("ParseString(%q) = %v, want ErrInvalidKeySet", s, err)
		}
		for _, want := range []string{"empty", "unset", "cookieseal keygen -out keys.json", "cookieseal keys export-env"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseString(%q) error %q lacks %q", s, err, want)
			}
		}
		if strings.Contains(err.Error(), "entry 0") {
			t.Errorf("ParseString(%q) error %q blames an entry", s, err)
		}
	}
}
