// Package ci says whether the tests run under continuous integration, where
// a test whose PostgreSQL or Chromium is missing must fail instead of
// skipping. CI systems set CI to "true", "1", "yes" or their own name;
// only an unset or empty CI, or "false", means a developer's machine.
package ci

import (
	"os"
	"strings"
)

// Is reports whether value, the content of the CI variable, means CI.
func Is(value string) bool {
	v := strings.TrimSpace(value)
	return v != "" && !strings.EqualFold(v, "false")
}

// Enabled reports whether this process runs under CI.
func Enabled() bool { return Is(os.Getenv("CI")) }
