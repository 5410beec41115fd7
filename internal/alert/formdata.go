package alert

import "slices"

// Levels lists the levels a rule's level condition accepts, least severe
// first, so that a form offers exactly what Validate lets through.
func Levels() []string { return slices.Clone(levels) }
