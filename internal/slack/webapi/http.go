package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// NewHTTPClient is a client for Slack's Web API and response URLs. Every
// call goes to one host, so it keeps many idle connections to it: with
// Go's default of two, a burst of alerts to a few channels opens a new
// connection for nearly every post, which costs time in the very moments
// the posts are paced.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}

// PostResponse posts a JSON body to a response URL. Anything but 200 is a
// *ResponseURLError (Decide reads 404, Slack's "Expired url", as
// CodeExpiredURL). The URL is a credential and stays out of errors.
func PostResponse(ctx context.Context, client *http.Client, responseURL string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(b))
	if err != nil {
		return &ResponseURLError{Status: http.StatusBadRequest, Answer: "bad response url"}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post response url: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return &ResponseURLError{Status: resp.StatusCode, Answer: string(bytes.TrimSpace(answer))}
	}
	return nil
}

// EphemeralBody is a reply only the clicking person sees, leaving the
// message as it is.
func EphemeralBody(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text}
}
