package ingest

import (
	"strings"
	"testing"
	"time"
)

func TestTmpQuad(t *testing.T) {
	for _, n := range []int{1000, 10000, 100000} {
		s := strings.Repeat("a.", n) + "1"
		start := time.Now()
		out := maskVariables(s)
		t.Logf("n=%d %v %q", n, time.Since(start), out[len(out)-10:])
	}
}
