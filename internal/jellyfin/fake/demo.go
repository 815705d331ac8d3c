package fake

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// demoWords are short, unambiguous words for readable demo passwords.
var demoWords = []string{
	"amber", "anchor", "apple", "arrow", "badge", "basil", "beacon", "birch",
	"bison", "blaze", "bloom", "brook", "cabin", "canyon", "cedar", "chalk",
	"cider", "clover", "comet", "coral", "crane", "delta", "dune", "ember",
	"falcon", "fern", "fjord", "flint", "forest", "frost", "garnet", "glacier",
	"harbor", "hazel", "heron", "island", "jasper", "juniper", "kettle", "lagoon",
	"lantern", "lemon", "lotus", "maple", "meadow", "mint", "nectar", "nova",
	"oasis", "olive", "orbit", "otter", "pebble", "pepper", "pine", "plume",
	"quartz", "raven", "reef", "river", "saffron", "spruce", "tundra", "willow",
}

// NewDemo returns an emulator with demo accounts: "admin" (an administrator,
// hidden from the login screen like every new Jellyfin user) and "alice" and
// "bob" (ordinary users, listed on the login screen). Passwords are random
// and readable (three words and two digits) and are returned with the names.
func NewDemo(o Options) (*Server, []DemoUser) {
	s := New(o)
	users := []DemoUser{
		{Name: "admin", Password: demoPassword(), Admin: true},
		{Name: "alice", Password: demoPassword()},
		{Name: "bob", Password: demoPassword()},
	}
	for _, u := range users {
		s.AddUser(u.Name, u.Password, u.Admin)
		if !u.Admin {
			s.SetHidden(u.Name, false)
		}
	}
	return s, users
}

// demoPassword draws three words and two digits with crypto/rand.
func demoPassword() string {
	parts := make([]string, 0, 4)
	for range 3 {
		parts = append(parts, demoWords[randInt(len(demoWords))])
	}
	parts = append(parts, fmt.Sprintf("%02d", randInt(100)))
	return strings.Join(parts, "-")
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0
	}
	return int(v.Int64())
}
