package catalog

import "encoding/json"

// Release dates, the values of Event.IntroducedIn (see the package
// documentation for the convention).
const (
	// firstRelease is when the gateway first emitted the 27 event types of
	// the public documentation.
	firstRelease = "2025-01-15"
	// mergedRelease is when contact.merged, the 28th type, was added.
	mergedRelease = "2026-04-01"
)

// exampleWorkspace is the workspace of every example payload, so that the
// examples read as events of one account.
const exampleWorkspace = "0fd904a1-32c0-4ca7-b45d-2d45de1b968a"

// envelope is the delivery body of api-contract §6, with its members in the
// documented order.
type envelope struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	CreatedAt   string          `json:"created_at"`
	WorkspaceID string          `json:"workspace_id"`
	Data        json.RawMessage `json:"data"`
}

// example builds an example delivery body around a JSON literal of data.
func example(eventType, id, createdAt, data string) JSON {
	return mustJSON(envelope{ID: id, Type: eventType, CreatedAt: createdAt, WorkspaceID: exampleWorkspace, Data: mustCompact(data)})
}

// events is the catalog in the contract's order. The order is part of the
// API (the catalog endpoint lists events in this order), so append new types
// at the end of their category rather than sorting.
//
// The examples tell one story in one workspace: the same contacts, company,
// deals and members recur, so that IDs in one example can be followed into
// another.
var events = [...]Event{
	// contact

	{
		Type: "contact.created", Category: "contact",
		Description:  "A contact was created.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("contact.created", "The contact that was created.", contactFields),
		ExamplePayload: example("contact.created", "8f098980-2b0b-4a96-b87f-9d116277f1dd", "2026-04-17T14:23:05Z", `{
			"id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"email": "maria.lopez@northwind.example",
			"first_name": "Maria",
			"last_name": "Lopez",
			"phone": "+14155550142",
			"job_title": "Head of Operations",
			"company_id": "dc9f715d-c8c7-42fc-8d75-398a4acd47d5",
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"lifecycle_stage": "lead",
			"source": "form",
			"tags": ["webinar-2026-q2", "logistics"],
			"created_at": "2026-04-17T14:23:04Z",
			"updated_at": "2026-04-17T14:23:04Z"
		}`),
	},
	{
		Type: "contact.updated", Category: "contact",
		Description:  "One or more fields of a contact were changed.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: updated("contact.updated", "contact", contactFields),
		ExamplePayload: example("contact.updated", "02e47a71-17f8-44c1-ae8a-b6c723cc3976", "2026-04-17T15:02:41Z", `{
			"id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"email": "maria.lopez@northwind.example",
			"first_name": "Maria",
			"last_name": "Lopez",
			"phone": "+14155550142",
			"job_title": "VP Operations",
			"company_id": "dc9f715d-c8c7-42fc-8d75-398a4acd47d5",
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"lifecycle_stage": "qualified",
			"source": "form",
			"tags": ["webinar-2026-q2", "logistics"],
			"created_at": "2026-04-17T14:23:04Z",
			"updated_at": "2026-04-17T15:02:40Z",
			"changed_fields": ["job_title", "lifecycle_stage"],
			"previous_values": {
				"job_title": "Head of Operations",
				"lifecycle_stage": "lead"
			}
		}`),
	},
	{
		Type: "contact.deleted", Category: "contact",
		Description:  "A contact was deleted.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: deleted("contact.deleted", "contact"),
		ExamplePayload: example("contact.deleted", "fa93fdeb-fb12-4085-a7ba-5ac3be0d4c8f", "2026-04-17T16:45:12Z", `{
			"id": "9e57e93d-031f-42a4-9dd4-ca7db5beb752",
			"deleted_at": "2026-04-17T16:45:11Z"
		}`),
	},
	{
		Type: "contact.bulk_created", Category: "contact",
		Description:  "A batch of contacts was created in a single bulk request.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: bulk("contact.bulk_created", "contact", contactFields),
		ExamplePayload: example("contact.bulk_created", "71a3ea48-f258-4d95-9a9b-a6f9f7d80e29", "2026-04-17T09:10:27Z", `{
			"count": 2,
			"items": [
				{
					"id": "c12bc1dc-95a4-4a1e-8916-289f946b627b",
					"email": "j.okafor@brightpath.example",
					"first_name": "James",
					"last_name": "Okafor",
					"phone": null,
					"job_title": "Procurement Manager",
					"company_id": "80be661f-3e93-4990-8451-830365fa029e",
					"owner_id": "2a6356e5-e2db-4080-85b9-20490756cdf9",
					"lifecycle_stage": "lead",
					"source": "import",
					"tags": ["trade-show-2026"],
					"created_at": "2026-04-17T09:10:26Z",
					"updated_at": "2026-04-17T09:10:26Z"
				},
				{
					"id": "7a0efbc9-d855-4b5c-a25e-db8694a41de4",
					"email": "anna.schmidt@brightpath.example",
					"first_name": "Anna",
					"last_name": "Schmidt",
					"phone": "+4930555017",
					"job_title": null,
					"company_id": "80be661f-3e93-4990-8451-830365fa029e",
					"owner_id": "2a6356e5-e2db-4080-85b9-20490756cdf9",
					"lifecycle_stage": "lead",
					"source": "import",
					"tags": [],
					"created_at": "2026-04-17T09:10:26Z",
					"updated_at": "2026-04-17T09:10:26Z"
				}
			]
		}`),
	},
	{
		Type: "contact.merged", Category: "contact",
		Description:  "Two or more contacts were merged into one surviving contact.",
		IntroducedIn: mergedRelease, Stability: Beta,
		DataSchema: dataSchema("contact.merged", object("The result of a merge.", props{
			p("id", uuid("The surviving contact, which now holds the merged contacts' data.")),
			p("merged_ids", arrayOf("The contacts merged into the surviving one; they no longer exist and no contact.deleted event is sent for them.", uuid("A merged contact's ID."), 1)),
			p("merged_at", timestamp("When the merge happened.")),
		})),
		ExamplePayload: example("contact.merged", "3b1d93e9-6924-4c65-b2c3-2a210f3f7d3e", "2026-04-17T17:30:02Z", `{
			"id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"merged_ids": ["37e0ea3a-c105-435b-a19c-c4647f7d8df7", "da0c5e0d-e469-4b5a-9b54-74777189ea47"],
			"merged_at": "2026-04-17T17:30:01Z"
		}`),
	},

	// company

	{
		Type: "company.created", Category: "company",
		Description:  "A company was created.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("company.created", "The company that was created.", companyFields),
		ExamplePayload: example("company.created", "0cc0883e-873b-4517-81b1-f9d4547df8c7", "2026-04-17T14:20:13Z", `{
			"id": "dc9f715d-c8c7-42fc-8d75-398a4acd47d5",
			"name": "Northwind Logistics",
			"domain": "northwind.example",
			"industry": "Transportation & Logistics",
			"employee_count": 850,
			"country": "US",
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"created_at": "2026-04-17T14:20:12Z",
			"updated_at": "2026-04-17T14:20:12Z"
		}`),
	},
	{
		Type: "company.updated", Category: "company",
		Description:  "One or more fields of a company were changed.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: updated("company.updated", "company", companyFields),
		ExamplePayload: example("company.updated", "e622c5d8-4c05-4bb9-ba03-77014276f59a", "2026-04-17T15:48:30Z", `{
			"id": "dc9f715d-c8c7-42fc-8d75-398a4acd47d5",
			"name": "Northwind Logistics",
			"domain": "northwind.example",
			"industry": "Transportation & Logistics",
			"employee_count": 920,
			"country": "US",
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"created_at": "2026-04-17T14:20:12Z",
			"updated_at": "2026-04-17T15:48:29Z",
			"changed_fields": ["employee_count"],
			"previous_values": {"employee_count": 850}
		}`),
	},
	{
		Type: "company.deleted", Category: "company",
		Description:  "A company was deleted.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: deleted("company.deleted", "company"),
		ExamplePayload: example("company.deleted", "92d8db29-b4ce-4d75-942c-e342a1edd46a", "2026-04-17T18:05:44Z", `{
			"id": "1895a7be-8e5e-478f-b6e9-160134937863",
			"deleted_at": "2026-04-17T18:05:43Z"
		}`),
	},

	// deal

	{
		Type: "deal.created", Category: "deal",
		Description:  "A deal was created.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("deal.created", "The deal that was created.", dealFields),
		ExamplePayload: example("deal.created", "f733c809-7d84-49dc-bbab-e01f266dd72e", "2026-04-17T15:10:09Z", `{
			"id": "2805e177-f6be-412f-91d6-4a8011715d91",
			"name": "Northwind Logistics – fleet tracking rollout",
			"value": 48000,
			"currency": "USD",
			"pipeline_id": "fefe79b0-6eda-4a13-ad4d-376d39144168",
			"stage": "discovery",
			"status": "open",
			"contact_id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"company_id": "dc9f715d-c8c7-42fc-8d75-398a4acd47d5",
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"expected_close_date": "2026-06-30",
			"closed_at": null,
			"created_at": "2026-04-17T15:10:08Z",
			"updated_at": "2026-04-17T15:10:08Z"
		}`),
	},
	{
		Type: "deal.updated", Category: "deal",
		Description:  "One or more fields of a deal, such as its stage or value, were changed.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: updated("deal.updated", "deal", dealFields),
		ExamplePayload: example("deal.updated", "69cfd76c-0f72-4e1b-be80-15ba86b498d9", "2026-04-17T16:12:55Z", `{
			"id": "2805e177-f6be-412f-91d6-4a8011715d91",
			"name": "Northwind Logistics – fleet tracking rollout",
			"value": 52500.5,
			"currency": "USD",
			"pipeline_id": "fefe79b0-6eda-4a13-ad4d-376d39144168",
			"stage": "proposal",
			"status": "open",
			"contact_id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"company_id": "dc9f715d-c8c7-42fc-8d75-398a4acd47d5",
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"expected_close_date": "2026-06-30",
			"closed_at": null,
			"created_at": "2026-04-17T15:10:08Z",
			"updated_at": "2026-04-17T16:12:54Z",
			"changed_fields": ["value", "stage"],
			"previous_values": {"value": 48000, "stage": "discovery"}
		}`),
	},
	{
		Type: "deal.deleted", Category: "deal",
		Description:  "A deal was deleted.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: deleted("deal.deleted", "deal"),
		ExamplePayload: example("deal.deleted", "9dd17c86-db5d-4eb2-82a9-8cde31299033", "2026-04-17T18:40:19Z", `{
			"id": "4edd78f8-42d5-431e-82bf-98f3972d87d8",
			"deleted_at": "2026-04-17T18:40:18Z"
		}`),
	},
	{
		Type: "deal.bulk_created", Category: "deal",
		Description:  "A batch of deals was created in a single bulk request.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: bulk("deal.bulk_created", "deal", dealFields),
		ExamplePayload: example("deal.bulk_created", "f268c570-7c5d-4e3c-b15d-345d1b74bb2c", "2026-04-17T09:12:03Z", `{
			"count": 2,
			"items": [
				{
					"id": "10e2661d-19da-4cab-9db7-009e5a3e52fc",
					"name": "Brightpath – annual licence",
					"value": 18000,
					"currency": "EUR",
					"pipeline_id": "fefe79b0-6eda-4a13-ad4d-376d39144168",
					"stage": "qualification",
					"status": "open",
					"contact_id": "c12bc1dc-95a4-4a1e-8916-289f946b627b",
					"company_id": "80be661f-3e93-4990-8451-830365fa029e",
					"owner_id": "2a6356e5-e2db-4080-85b9-20490756cdf9",
					"expected_close_date": "2026-07-15",
					"closed_at": null,
					"created_at": "2026-04-17T09:12:02Z",
					"updated_at": "2026-04-17T09:12:02Z"
				},
				{
					"id": "97b16464-d418-4bbc-b16c-9a1843f3cd65",
					"name": "Brightpath – onboarding services",
					"value": null,
					"currency": "EUR",
					"pipeline_id": "fefe79b0-6eda-4a13-ad4d-376d39144168",
					"stage": "qualification",
					"status": "open",
					"contact_id": "7a0efbc9-d855-4b5c-a25e-db8694a41de4",
					"company_id": "80be661f-3e93-4990-8451-830365fa029e",
					"owner_id": "2a6356e5-e2db-4080-85b9-20490756cdf9",
					"expected_close_date": null,
					"closed_at": null,
					"created_at": "2026-04-17T09:12:02Z",
					"updated_at": "2026-04-17T09:12:02Z"
				}
			]
		}`),
	},
	{
		Type: "deal.bulk_updated", Category: "deal",
		Description:  "A batch of deals was updated in a single bulk request.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: bulk("deal.bulk_updated", "deal", dealFields, changedFields("The fields the bulk request set on every deal in items.", dealFields)),
		ExamplePayload: example("deal.bulk_updated", "a5d0de92-1223-4155-85d1-13a835b2e20e", "2026-04-17T19:01:37Z", `{
			"count": 2,
			"items": [
				{
					"id": "10e2661d-19da-4cab-9db7-009e5a3e52fc",
					"name": "Brightpath – annual licence",
					"value": 18000,
					"currency": "EUR",
					"pipeline_id": "fefe79b0-6eda-4a13-ad4d-376d39144168",
					"stage": "negotiation",
					"status": "open",
					"contact_id": "c12bc1dc-95a4-4a1e-8916-289f946b627b",
					"company_id": "80be661f-3e93-4990-8451-830365fa029e",
					"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
					"expected_close_date": "2026-07-15",
					"closed_at": null,
					"created_at": "2026-04-17T09:12:02Z",
					"updated_at": "2026-04-17T19:01:36Z"
				},
				{
					"id": "97b16464-d418-4bbc-b16c-9a1843f3cd65",
					"name": "Brightpath – onboarding services",
					"value": 6500,
					"currency": "EUR",
					"pipeline_id": "fefe79b0-6eda-4a13-ad4d-376d39144168",
					"stage": "negotiation",
					"status": "open",
					"contact_id": "7a0efbc9-d855-4b5c-a25e-db8694a41de4",
					"company_id": "80be661f-3e93-4990-8451-830365fa029e",
					"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
					"expected_close_date": null,
					"closed_at": null,
					"created_at": "2026-04-17T09:12:02Z",
					"updated_at": "2026-04-17T19:01:36Z"
				}
			],
			"changed_fields": ["stage", "owner_id"]
		}`),
	},

	// list

	{
		Type: "list.created", Category: "list",
		Description:  "A contact list was created.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("list.created", "The list that was created.", listFields),
		ExamplePayload: example("list.created", "d0abb818-0562-4146-98c8-0694347f24e9", "2026-04-17T10:05:51Z", `{
			"id": "c6c199d2-0f09-42d4-b865-4ec2ecb4bceb",
			"name": "Q2 logistics prospects",
			"description": "Operations leaders at logistics companies with 200+ employees.",
			"kind": "static",
			"contact_count": 0,
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"created_at": "2026-04-17T10:05:50Z"
		}`),
	},
	{
		Type: "list.deleted", Category: "list",
		Description:  "A contact list was deleted.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: deleted("list.deleted", "list"),
		ExamplePayload: example("list.deleted", "f032948c-8933-4e0a-84e2-661015bdb777", "2026-04-17T20:15:08Z", `{
			"id": "e711f858-5667-49de-982a-85a138ffb291",
			"deleted_at": "2026-04-17T20:15:07Z"
		}`),
	},
	{
		Type: "list.contacts_added", Category: "list",
		Description:  "One or more contacts were added to a list.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: membership("list.contacts_added", "list", "added", "to"),
		ExamplePayload: example("list.contacts_added", "a337919f-71a7-4875-902d-cc70f54dd876", "2026-04-17T15:20:33Z", `{
			"list_id": "c6c199d2-0f09-42d4-b865-4ec2ecb4bceb",
			"contact_ids": ["e1f960e6-f3e7-4fb7-8261-c2164a27ec6f", "c12bc1dc-95a4-4a1e-8916-289f946b627b", "7a0efbc9-d855-4b5c-a25e-db8694a41de4"],
			"count": 3,
			"added_at": "2026-04-17T15:20:32Z"
		}`),
	},
	{
		Type: "list.contacts_removed", Category: "list",
		Description:  "One or more contacts were removed from a list.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: membership("list.contacts_removed", "list", "removed", "from"),
		ExamplePayload: example("list.contacts_removed", "d668e32c-74aa-49c5-b732-edc94df644b4", "2026-04-17T16:02:17Z", `{
			"list_id": "c6c199d2-0f09-42d4-b865-4ec2ecb4bceb",
			"contact_ids": ["7a0efbc9-d855-4b5c-a25e-db8694a41de4"],
			"count": 1,
			"removed_at": "2026-04-17T16:02:16Z"
		}`),
	},

	// campaign

	{
		Type: "campaign.created", Category: "campaign",
		Description:  "A campaign was created.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("campaign.created", "The campaign that was created.", campaignFields),
		ExamplePayload: example("campaign.created", "6a279b03-3f4a-4ddc-a560-1a1ed7836add", "2026-04-17T10:30:46Z", `{
			"id": "bb597250-cfe9-42e4-bb78-f3f7d50d7bc2",
			"name": "Q2 logistics outreach",
			"status": "draft",
			"channel": "email",
			"step_count": 0,
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"created_at": "2026-04-17T10:30:45Z",
			"updated_at": "2026-04-17T10:30:45Z"
		}`),
	},
	{
		Type: "campaign.started", Category: "campaign",
		Description:  "A campaign was started and began sending its steps.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("campaign.started", "The campaign as it is now running.", campaignFields.plus(
			p("status", constant("Always active for this event.", "active")),
			p("started_at", timestamp("When the campaign started sending.")),
		)),
		ExamplePayload: example("campaign.started", "dc94dadc-04fe-46da-b2e2-28b7989a3cc6", "2026-04-17T16:00:01Z", `{
			"id": "bb597250-cfe9-42e4-bb78-f3f7d50d7bc2",
			"name": "Q2 logistics outreach",
			"status": "active",
			"channel": "email",
			"step_count": 3,
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"created_at": "2026-04-17T10:30:45Z",
			"updated_at": "2026-04-17T16:00:00Z",
			"started_at": "2026-04-17T16:00:00Z"
		}`),
	},
	{
		Type: "campaign.paused", Category: "campaign",
		Description:  "A running campaign was paused.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("campaign.paused", "The campaign as it is now paused.", campaignFields.plus(
			p("status", constant("Always paused for this event.", "paused")),
			p("paused_at", timestamp("When the campaign was paused.")),
			p("paused_by", nullable(uuid("The workspace member who paused the campaign; null when LeadLex paused it, e.g. after a sending limit was reached."))),
			p("reason", nullable(text("Why the campaign was paused, when a reason was given."))),
		)),
		ExamplePayload: example("campaign.paused", "a6ee0b9c-3822-46e7-94d3-4a9a50379ff4", "2026-04-17T21:45:26Z", `{
			"id": "bb597250-cfe9-42e4-bb78-f3f7d50d7bc2",
			"name": "Q2 logistics outreach",
			"status": "paused",
			"channel": "email",
			"step_count": 3,
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"created_at": "2026-04-17T10:30:45Z",
			"updated_at": "2026-04-17T21:45:25Z",
			"paused_at": "2026-04-17T21:45:25Z",
			"paused_by": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"reason": "Reviewing reply rates before the second step."
		}`),
	},
	{
		Type: "campaign.deleted", Category: "campaign",
		Description:  "A campaign was deleted.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: deleted("campaign.deleted", "campaign"),
		ExamplePayload: example("campaign.deleted", "11a7c8bc-cf7e-4265-841f-35836f854387", "2026-04-17T22:10:59Z", `{
			"id": "85e60241-cce1-4846-8067-7f663b421a91",
			"deleted_at": "2026-04-17T22:10:58Z"
		}`),
	},
	{
		Type: "campaign.step_created", Category: "campaign",
		Description:  "A step was added to a campaign's sequence.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("campaign.step_created", "The step that was added.", stepFields),
		ExamplePayload: example("campaign.step_created", "abdec8bb-67be-4bd8-b6da-ba394bdbf168", "2026-04-17T11:02:14Z", `{
			"id": "6d303d51-fad4-4be0-849b-5da650c1af98",
			"campaign_id": "bb597250-cfe9-42e4-bb78-f3f7d50d7bc2",
			"position": 1,
			"type": "email",
			"delay_days": 0,
			"subject": "Cutting empty miles at Northwind",
			"created_at": "2026-04-17T11:02:13Z"
		}`),
	},
	{
		Type: "campaign.contacts_added", Category: "campaign",
		Description:  "One or more contacts were enrolled in a campaign.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: membership("campaign.contacts_added", "campaign", "enrolled", "in"),
		ExamplePayload: example("campaign.contacts_added", "fb47c8bd-1a26-4101-aba6-5b18cdad6fc0", "2026-04-17T15:55:40Z", `{
			"campaign_id": "bb597250-cfe9-42e4-bb78-f3f7d50d7bc2",
			"contact_ids": ["e1f960e6-f3e7-4fb7-8261-c2164a27ec6f", "c12bc1dc-95a4-4a1e-8916-289f946b627b"],
			"count": 2,
			"enrolled_at": "2026-04-17T15:55:39Z"
		}`),
	},

	// activity

	{
		Type: "activity.created", Category: "activity",
		Description:  "An activity, such as a call, email or meeting, was logged.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("activity.created", "The activity that was logged.", activityFields),
		ExamplePayload: example("activity.created", "6da99047-20fd-41b3-bbb6-9aec43bf1b46", "2026-04-17T17:05:22Z", `{
			"id": "d8c861fd-fdd5-4ae9-ae5a-babdc861a328",
			"type": "call",
			"subject": "Discovery call: fleet tracking requirements",
			"contact_id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"company_id": "dc9f715d-c8c7-42fc-8d75-398a4acd47d5",
			"deal_id": "2805e177-f6be-412f-91d6-4a8011715d91",
			"owner_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"occurred_at": "2026-04-17T16:30:00Z",
			"duration_seconds": 1860,
			"created_at": "2026-04-17T17:05:21Z"
		}`),
	},

	// task

	{
		Type: "task.created", Category: "task",
		Description:  "A task was created.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("task.created", "The task that was created.", taskFields),
		ExamplePayload: example("task.created", "697df237-1d95-4bc8-af91-477ee4bab3d0", "2026-04-17T17:06:03Z", `{
			"id": "55407817-952b-4878-986c-3d559a02cf85",
			"title": "Send Maria the fleet tracking proposal",
			"description": "Suggested from the discovery call: she asked for pricing for 120 vehicles.",
			"status": "suggested",
			"priority": "high",
			"due_at": "2026-04-20T17:00:00Z",
			"assignee_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"contact_id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"deal_id": "2805e177-f6be-412f-91d6-4a8011715d91",
			"created_at": "2026-04-17T17:06:02Z",
			"updated_at": "2026-04-17T17:06:02Z"
		}`),
	},
	{
		Type: "task.updated", Category: "task",
		Description:  "One or more fields of a task were changed.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: updated("task.updated", "task", taskFields),
		ExamplePayload: example("task.updated", "2f26cc24-1355-4bd9-b406-d03865ec6b4d", "2026-04-17T18:20:48Z", `{
			"id": "55407817-952b-4878-986c-3d559a02cf85",
			"title": "Send Maria the fleet tracking proposal",
			"description": "Suggested from the discovery call: she asked for pricing for 120 vehicles.",
			"status": "open",
			"priority": "high",
			"due_at": "2026-04-21T17:00:00Z",
			"assignee_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"contact_id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"deal_id": "2805e177-f6be-412f-91d6-4a8011715d91",
			"created_at": "2026-04-17T17:06:02Z",
			"updated_at": "2026-04-17T18:20:47Z",
			"changed_fields": ["due_at"],
			"previous_values": {"due_at": "2026-04-20T17:00:00Z"}
		}`),
	},
	{
		Type: "task.approved", Category: "task",
		Description:  "A task was approved.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("task.approved", "The task as it is after approval.", taskFields.plus(
			p("status", constant("Always open for this event: an approved task is ready to be worked on.", "open")),
			p("approved_at", timestamp("When the task was approved.")),
			p("approved_by", nullable(uuid("The workspace member who approved the task; null when an automation approved it."))),
		)),
		ExamplePayload: example("task.approved", "10376558-693f-4c72-93b5-bf8edf0dc0d6", "2026-04-17T18:15:11Z", `{
			"id": "55407817-952b-4878-986c-3d559a02cf85",
			"title": "Send Maria the fleet tracking proposal",
			"description": "Suggested from the discovery call: she asked for pricing for 120 vehicles.",
			"status": "open",
			"priority": "high",
			"due_at": "2026-04-20T17:00:00Z",
			"assignee_id": "73e5573b-a63b-49b8-b6d6-6279527ada67",
			"contact_id": "e1f960e6-f3e7-4fb7-8261-c2164a27ec6f",
			"deal_id": "2805e177-f6be-412f-91d6-4a8011715d91",
			"created_at": "2026-04-17T17:06:02Z",
			"updated_at": "2026-04-17T18:15:10Z",
			"approved_at": "2026-04-17T18:15:10Z",
			"approved_by": "73e5573b-a63b-49b8-b6d6-6279527ada67"
		}`),
	},
	{
		Type: "task.dismissed", Category: "task",
		Description:  "A task was dismissed.",
		IntroducedIn: firstRelease, Stability: Stable,
		DataSchema: record("task.dismissed", "The task as it is after dismissal.", taskFields.plus(
			p("status", constant("Always dismissed for this event.", "dismissed")),
			p("dismissed_at", timestamp("When the task was dismissed.")),
			p("dismissed_by", nullable(uuid("The workspace member who dismissed the task; null when an automation dismissed it."))),
			p("dismiss_reason", nullable(text("Why the task was dismissed, when a reason was given."))),
		)),
		ExamplePayload: example("task.dismissed", "4826894f-8e25-40e2-9c55-6681d53e298b", "2026-04-17T18:16:37Z", `{
			"id": "78fbe530-d59b-47c5-85c8-904c4a447cc4",
			"title": "Follow up with James about the onboarding quote",
			"description": null,
			"status": "dismissed",
			"priority": "normal",
			"due_at": null,
			"assignee_id": "2a6356e5-e2db-4080-85b9-20490756cdf9",
			"contact_id": "c12bc1dc-95a4-4a1e-8916-289f946b627b",
			"deal_id": "97b16464-d418-4bbc-b16c-9a1843f3cd65",
			"created_at": "2026-04-17T09:30:00Z",
			"updated_at": "2026-04-17T18:16:36Z",
			"dismissed_at": "2026-04-17T18:16:36Z",
			"dismissed_by": "2a6356e5-e2db-4080-85b9-20490756cdf9",
			"dismiss_reason": "Already covered in Tuesday's call."
		}`),
	},
}
