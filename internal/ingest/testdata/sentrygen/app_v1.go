//go:build !v2

package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/getsentry/sentry-go"
)

const (
	variant = "v1"
	release = "shop@1.4.2"
)

var steps = []string{"checkout_1", "checkout_2", "billing", "quantity", "panic", "latency"}

var errCardDeclined = errors.New("card declined")

type order struct {
	ID     int
	Amount int
	Email  string
}

func play(hub *sentry.Hub, step string) {
	switch step {
	case "checkout_1":
		checkout(hub, order{ID: 1001, Amount: 250, Email: "ada@example.com"})
	case "checkout_2":
		checkout(hub, order{ID: 1002, Amount: 990, Email: "bob@example.org"})
	case "billing":
		nightlyBilling(hub, []order{{ID: 2001, Amount: 500, Email: "eve@example.net"}})
	case "quantity":
		parseQuantity(hub, "12x")
	case "panic":
		renderInvoice(hub, []string{"a", "b", "c"}, 5)
	case "latency":
		reportLatency(hub, 2300, 1001)
	}
}

func chargeCard(o order) error {
	if o.Amount > 100 {
		return fmt.Errorf("charge order %d (%s): %w", o.ID, o.Email, errCardDeclined)
	}
	return nil
}

func checkout(hub *sentry.Hub, o order) {
	if err := chargeCard(o); err != nil {
		hub.CaptureException(err)
	}
}

func nightlyBilling(hub *sentry.Hub, orders []order) {
	for _, o := range orders {
		if err := chargeCard(o); err != nil {
			hub.CaptureException(err)
		}
	}
}

func parseQuantity(hub *sentry.Hub, s string) {
	if _, err := strconv.Atoi(s); err != nil {
		hub.CaptureException(err)
	}
}

func renderInvoice(hub *sentry.Hub, lines []string, i int) {
	defer func() {
		if r := recover(); r != nil {
			hub.Recover(r)
		}
	}()
	_ = lines[i]
}

func reportLatency(hub *sentry.Hub, ms, orderID int) {
	hub.CaptureMessage(fmt.Sprintf("payment provider slow: %dms for order %d", ms, orderID))
}
