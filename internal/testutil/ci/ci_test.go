package ci

import "testing"

func TestIs(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, " ": false, "false": false, "FALSE": false, "False": false,
		"true": true, "1": true, "yes": true, "woodpecker": true, "0": true,
	} {
		if got := Is(v); got != want {
			t.Errorf("Is(%q) = %t, want %t", v, got, want)
		}
	}
}
