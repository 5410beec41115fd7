package mail

import (
	"bytes"
	"html/template"
	"strings"
	texttemplate "text/template"
)

// Template is one kind of email: a subject, a plain-text body and an HTML
// body, each a template over the same data. The HTML body goes inside a
// plain layout that mail clients render alike.
type Template struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *template.Template
}

const layout = `<!doctype html><html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>` +
	`<body style="font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.5; color: #1f2328; max-width: 640px">` +
	`{{.Body}}<p style="color: #59636e; font-size: 13px">Sent by Triage.</p></body></html>`

var layoutTemplate = template.Must(template.New("layout").Parse(layout))

// MustTemplate parses the three parts; it panics on a bad template (they
// are constants of the program).
func MustTemplate(subject, text, html string) *Template {
	return &Template{
		subject: texttemplate.Must(texttemplate.New("subject").Parse(subject)),
		text:    texttemplate.Must(texttemplate.New("text").Parse(text)),
		html:    template.Must(template.New("html").Parse(html)),
	}
}

// Render fills the template in for to.
func (t *Template) Render(to string, data any) (Message, error) {
	var subj, text, body, page bytes.Buffer
	if err := t.subject.Execute(&subj, data); err != nil {
		return Message{}, err
	}
	if err := t.text.Execute(&text, data); err != nil {
		return Message{}, err
	}
	if err := t.html.Execute(&body, data); err != nil {
		return Message{}, err
	}
	subject := strings.Join(strings.Fields(subj.String()), " ")
	if err := layoutTemplate.Execute(&page, struct {
		Subject string
		Body    template.HTML
	}{subject, template.HTML(body.String())}); err != nil {
		return Message{}, err
	}
	return Message{To: to, Subject: subject, Text: text.String(), HTML: page.String()}, nil
}
