package sqldoc

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// DecodeDetail decodes gateway_get_delivery's answer for a delivery that
// exists (the caller handles SQL null, which means it does not): the
// delivery, its event and its attempts. The attempts are log entries, so
// they are decoded by DecodeLog, the one decoder of that shape.
func DecodeDetail(raw []byte) (*delivery.Detail, error) {
	var doc struct {
		Delivery *Delivery `json:"delivery"`
		Event    *struct {
			ID          string `json:"id"`
			WorkspaceID string `json:"workspace_id"`
			Type        string `json:"type"`
			Data        string `json:"data"`
			CreatedAt   Time   `json:"created_at"`
		} `json:"event"`
		Attempts json.RawMessage `json:"attempts"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding the delivery detail: %w", err)
	}
	if doc.Delivery == nil || doc.Event == nil || len(doc.Attempts) == 0 {
		return nil, errors.New("the delivery detail lacks its delivery, event or attempts")
	}
	log, err := json.Marshal(map[string]any{"total": 0, "entries": doc.Attempts})
	if err != nil {
		return nil, fmt.Errorf("decoding the delivery detail: %w", err)
	}
	attempts, _, err := DecodeLog(log)
	if err != nil {
		return nil, err
	}
	return &delivery.Detail{
		Delivery: doc.Delivery.Delivery(),
		Event: delivery.Event{ID: doc.Event.ID, WorkspaceID: doc.Event.WorkspaceID, Type: doc.Event.Type,
			Data: json.RawMessage(doc.Event.Data), CreatedAt: doc.Event.CreatedAt.Time},
		Attempts: attempts,
	}, nil
}
