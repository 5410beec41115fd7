//go:build v2

// The same program as app_v1.go after a later edit: the functions keep
// their names, their lines and the values they see change.

package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/getsentry/sentry-go"
)

const (
	variant = "v2"
	release = "shop@1.5.0"
)

var steps = []string{"checkout_1", "billing", "quantity", "panic", "latency"}

// errCardDeclined is what the payment provider answers for a refused card.
var errCardDeclined = errors.New("card declined")

// order is one customer order.
type order struct {
	ID       int
	Amount   int
	Email    string
	Currency string
}

func play(hub *sentry.Hub, step string) {
	switch step {
	case "checkout_1":
		checkout(hub, order{ID: 73105, Amount: 480, Email: "zoe@example.com", Currency: "EUR"})
	case "billing":
		nightlyBilling(hub, []order{
			{ID: 88, Amount: 20, Email: "sam@example.com"},
			{ID: 89, Amount: 1200, Email: "kim@example.com"},
		})
	case "quantity":
		parseQuantity(hub, "three")
	case "panic":
		renderInvoice(hub, []string{"a", "b"}, 7)
	case "latency":
		reportLatency(hub, 18450, 73105)
	}
}

// chargeCard asks the payment provider to charge the order.
func chargeCard(o order) error {
	limit := 100
	if o.Currency == "EUR" {
		limit = 90
	}
	if o.Amount > limit {
		return fmt.Errorf("charge order %d (%s): %w", o.ID, o.Email, errCardDeclined)
	}
	return nil
}

// checkout charges an order as the customer waits.
func checkout(hub *sentry.Hub, o order) {
	err := chargeCard(o)
	if err != nil {
		hub.CaptureException(err)
		return
	}
}

// nightlyBilling charges the orders of the day.
func nightlyBilling(hub *sentry.Hub, orders []order) {
	failed := 0
	for _, o := range orders {
		if err := chargeCard(o); err != nil {
			failed++
			hub.CaptureException(err)
		}
	}
	_ = failed
}

func parseQuantity(hub *sentry.Hub, s string) {
	n, err := strconv.Atoi(s)
	if err != nil {
		hub.CaptureException(err)
	}
	_ = n
}

func renderInvoice(hub *sentry.Hub, lines []string, i int) {
	defer func() {
		if r := recover(); r != nil {
			hub.Recover(r)
		}
	}()
	line := lines[i]
	_ = line
}

func reportLatency(hub *sentry.Hub, ms, orderID int) {
	msg := fmt.Sprintf("payment provider slow: %dms for order %d", ms, orderID)
	hub.CaptureMessage(msg)
}
