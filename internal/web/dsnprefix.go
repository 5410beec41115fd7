package web

import (
	"net/http"
	"regexp"
)

// ingestPath matches an SDK request whose DSN had a path prefix: the SDK
// posts to <prefix>/api/<project id>/(envelope|store)/, and Triage may sit
// behind a proxy path. The prefix is dropped so that the one ingestion route
// serves it.
var ingestPath = regexp.MustCompile(`^/.+(/api/[0-9]+/(?:envelope|store)/)$`)

func stripDSNPrefix(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPost || r.Method == http.MethodOptions) && len(r.URL.Path) > 5 && r.URL.Path[:5] != "/api/" {
			if m := ingestPath.FindStringSubmatch(r.URL.Path); m != nil {
				r2 := r.Clone(r.Context())
				r2.URL.Path, r2.URL.RawPath = m[1], ""
				h.ServeHTTP(w, r2)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
