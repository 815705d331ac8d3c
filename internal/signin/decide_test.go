package signin

import (
	"fmt"
	"testing"

	"github.com/jellyguard/jellyguard/internal/store"
)

// policyCase is one user situation of the decide table.
type policyCase struct {
	name                      string
	required, enrolled, grace bool
}

var userCases = []policyCase{
	{name: "no second factor"},
	{name: "exempt but enrolled", enrolled: true},
	{name: "required, in grace", required: true, grace: true},
	{name: "required, grace over", required: true},
	{name: "enrolled", required: true, enrolled: true},
}

// TestDecideCoversEveryCombination runs decide over enrolled / required /
// exempt / grace × LAN bypass × trust cookie × approved device × Quick
// Connect approval × code (none, right, wrong) × impossible travel × door,
// and checks each answer against the policy stated rule by rule.
func TestDecideCoversEveryCombination(t *testing.T) {
	doors := []Door{DoorLogin, DoorLegacy, DoorQuickConnect, DoorPage, DoorChallenge}
	n := 0
	for _, u := range userCases {
		for mask := range 1 << 4 {
			for _, code := range []string{"none", "right", "wrong"} {
				for _, travel := range []bool{false, true} {
					for _, door := range doors {
						for _, web := range []bool{false, true} {
							f := Facts{Door: door, Required: u.required, Enrolled: u.enrolled, Grace: u.grace, TravelBlock: travel,
								CanChallenge: web && (door == DoorLogin || door == DoorLegacy), CodeFailed: code == "wrong"}
							if code == "right" {
								f.Proofs = append(f.Proofs, Proof{Factor: FactorTOTP, Kind: ProofFresh, Assurance: store.AssuranceTwoFactor})
							}
							lan, cookie, dev, qc := mask&1 != 0, mask&2 != 0, mask&4 != 0, mask&8 != 0 && door == DoorQuickConnect
							if lan {
								f.Proofs = append(f.Proofs, Proof{Factor: FactorLAN, Kind: ProofPlace, Assurance: store.AssuranceLAN})
							}
							if cookie {
								f.Proofs = append(f.Proofs, Proof{Factor: FactorTrustedBrowser, Kind: ProofRemembered, Assurance: store.AssuranceTwoFactor})
							}
							if dev {
								f.Proofs = append(f.Proofs, Proof{Factor: FactorDevice, Kind: ProofRemembered, Assurance: store.AssuranceTwoFactor})
							}
							if qc {
								f.Proofs = append(f.Proofs, Proof{Factor: FactorQuickConnect, Kind: ProofApproval, Assurance: store.AssuranceTwoFactor})
							}
							what := fmt.Sprintf("%s, lan=%v cookie=%v device=%v qc=%v code=%s travel=%v door=%s web=%v",
								u.name, lan, cookie, dev, qc, code, travel, door, web)
							checkDecision(t, what, f, Decide(f), lan, cookie || dev || qc, code)
							n++
						}
					}
				}
			}
		}
	}
	if n != 5*16*3*2*5*2 {
		t.Fatalf("covered %d combinations", n)
	}
}

// checkDecision states the policy rule by rule.
func checkDecision(t *testing.T, what string, f Facts, d Decision, lan, remembered bool, code string) {
	t.Helper()
	fail := func(why string) { t.Errorf("%s: %s; got %+v", what, why, d) }
	released := d.Action == Release
	switch {
	case code == "wrong":
		if d.Action != Refuse || d.Refusal != RefuseBadCode {
			fail("a wrong code refuses, whatever else vouches")
		}
	case code == "right":
		if !released || d.Assurance != store.AssuranceTwoFactor || d.Factors[0] != FactorTOTP {
			fail("a right code releases with two factors")
		}
	case f.TravelBlock:
		if released {
			fail("impossible travel in block mode needs a fresh factor: nothing remembered or LAN vouches")
		}
		if !f.Enrolled && d.Refusal != RefuseTravel {
			fail("impossible travel without a factor to pass is refused as such")
		}
		if f.Enrolled && f.CanChallenge && d.Action != Challenge {
			fail("an enrolled web user is challenged")
		}
	case !f.Required:
		if !released || d.Assurance != store.AssurancePassword || d.Proof != nil {
			fail("a user who needs no factor is released on the password")
		}
	case !f.Enrolled && f.Grace:
		if !released || d.Assurance != store.AssurancePassword || d.Factors[0] != FactorGrace {
			fail("the grace period releases on the password, recorded as grace")
		}
	case !f.Enrolled:
		if d.Action != Refuse || d.Refusal != RefuseNotEnrolled {
			fail("required and not enrolled after the grace period is refused")
		}
	case remembered:
		if !released || d.Assurance != store.AssuranceTwoFactor || d.Proof.Kind == ProofPlace {
			fail("a remembered factor or an approval releases with two factors (before the LAN)")
		}
	case lan:
		if !released || d.Assurance != store.AssuranceLAN || d.Factors[0] != FactorLAN {
			fail("the LAN bypass releases, recorded as LAN only")
		}
	case f.Door == DoorQuickConnect:
		if d.Action != Refuse || d.Refusal != RefuseQuickConnect {
			fail("an unapproved Quick Connect redemption is refused")
		}
	case f.CanChallenge:
		if d.Action != Challenge {
			fail("jellyfin-web is challenged")
		}
	case f.Door == DoorLogin || f.Door == DoorLegacy:
		if d.Action != Pending || d.Refusal != RefuseFactorNeeded {
			fail("a native app's device waits for approval")
		}
	default:
		if d.Action != Refuse || d.Refusal != RefuseFactorNeeded {
			fail("the pages refuse a sign-in that needs a code and gave none")
		}
	}
}
