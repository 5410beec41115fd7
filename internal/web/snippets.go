package web

import "strings"

// snippet is a ready setup for one platform's Sentry SDK, with the DSN
// filled in: what to install and what to put where the program starts.
type snippet struct {
	ID, Platform string
	Install      string
	Code         string
}

// setupSnippets are the setup panel's platforms, in the order shown. The
// official Sentry SDKs talk to Triage unchanged; only the DSN differs.
var setupSnippets = []snippet{
	{ID: "go", Platform: "Go", Install: "go get github.com/getsentry/sentry-go", Code: `import "github.com/getsentry/sentry-go"

func main() {
	if err := sentry.Init(sentry.ClientOptions{
		Dsn:         "{{DSN}}",
		Environment: "production",
		Release:     "my-app@1.0.0",
	}); err != nil {
		log.Fatalf("sentry.Init: %s", err)
	}
	// Send what is queued before the program exits.
	defer sentry.Flush(2 * time.Second)

	sentry.CaptureException(errors.New("it works"))
}`},
	{ID: "browser", Platform: "JavaScript (browser)", Install: "npm install @sentry/browser", Code: `import * as Sentry from "@sentry/browser";

Sentry.init({
  dsn: "{{DSN}}",
  environment: "production",
  release: "my-app@1.0.0",
});`},
	{ID: "node", Platform: "JavaScript (Node)", Install: "npm install @sentry/node", Code: `// Load this before anything else, e.g. node --require ./instrument.js app.js
const Sentry = require("@sentry/node");

Sentry.init({
  dsn: "{{DSN}}",
  environment: "production",
});`},
	{ID: "python", Platform: "Python", Install: "pip install sentry-sdk", Code: `import sentry_sdk

sentry_sdk.init(
    dsn="{{DSN}}",
    environment="production",
    release="my-app@1.0.0",
)`},
	{ID: "java", Platform: "Java", Install: "Maven: io.sentry:sentry (or Gradle: implementation 'io.sentry:sentry')", Code: `import io.sentry.Sentry;

public class Main {
    public static void main(String[] args) {
        Sentry.init(options -> {
            options.setDsn("{{DSN}}");
            options.setEnvironment("production");
        });
    }
}`},
	{ID: "dotnet", Platform: ".NET", Install: "dotnet add package Sentry", Code: `using Sentry;

using (SentrySdk.Init(options =>
{
    options.Dsn = "{{DSN}}";
    options.Environment = "production";
}))
{
    // Your application runs here; events are flushed when it ends.
}`},
	{ID: "ruby", Platform: "Ruby", Install: "bundle add sentry-ruby", Code: `require "sentry-ruby"

Sentry.init do |config|
  config.dsn = "{{DSN}}"
  config.environment = "production"
end`},
	{ID: "php", Platform: "PHP", Install: "composer require sentry/sentry", Code: `<?php
require __DIR__ . '/vendor/autoload.php';

\Sentry\init([
    'dsn' => '{{DSN}}',
    'environment' => 'production',
]);`},
}

// snippetsFor fills the DSN into every platform's snippet.
func snippetsFor(dsn string) []snippet {
	out := make([]snippet, len(setupSnippets))
	for i, s := range setupSnippets {
		s.Code = strings.ReplaceAll(s.Code, "{{DSN}}", dsn)
		out[i] = s
	}
	return out
}
