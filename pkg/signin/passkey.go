package signin

import "github.com/gatehouse-id/gatehouse/pkg/signin/acr"

// PasskeyName names passkeys in events and in Options.SecondFactors.
const PasskeyName = "passkey"

// Passkey is a sign-in with a passkey as the first factor, with the RFC
// 8176 methods of its assertion (pkg/passkey: "hwk" or "swk", and "user").
// A passkey that verified the user is phishing-resistant on its own
// (acr.PhishingResistant: possession of a key bound to the origin, and a
// PIN or biometric), so the pipeline asks no second factor; one that did
// not verify the user is one factor (acr.Single).
func Passkey(amr []string, userVerified bool) Method {
	m := Method{Name: PasskeyName, AMR: amr, Class: acr.Single}
	if userVerified {
		m.Class = acr.PhishingResistant
	}
	return m
}
