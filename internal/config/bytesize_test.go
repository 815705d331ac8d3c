package config

import "testing"

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "65536", want: 65536},
		{in: "64KiB", want: 64 << 10},
		{in: "1MiB", want: 1 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "2TiB", want: 2 << 40},
		{in: "64KB", want: 64000},
		{in: "1MB", want: 1000000},
		{in: "3GB", want: 3000000000},
		{in: "512B", want: 512},
		{in: "64 KiB", want: 64 << 10},
		{in: " 64kib ", want: 64 << 10},
		{in: "1mb", want: 1000000},
		{in: "", wantErr: `invalid size "" (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)`},
		{in: "KiB", wantErr: `invalid size "KiB" (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)`},
		{in: "-1", wantErr: `invalid size "-1" (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)`},
		{in: "1.5MiB", wantErr: `invalid size "1.5MiB" (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)`},
		{in: "64K", wantErr: `invalid size "64K" (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)`},
		{in: "64 KiB extra", wantErr: `invalid size "64 KiB extra" (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)`},
		{in: "9223372036854775808", wantErr: `size "9223372036854775808" is too large`},
		{in: "8388608TiB", wantErr: `size "8388608TiB" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if errText(err) != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseByteSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		in   ByteSize
		want string
	}{
		{0, "0B"}, {1, "1B"}, {1000, "1KB"}, {1023, "1023B"}, {1024, "1KiB"},
		{64 * KiB, "64KiB"}, {MiB, "1MiB"}, {1536 * KiB, "1536KiB"}, {2 * MB, "2MB"},
		{GiB, "1GiB"}, {5 * TiB, "5TiB"}, {-1, "-1B"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%d.String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		if tt.in < 0 {
			continue
		}
		text, _ := tt.in.MarshalText()
		var back ByteSize
		if err := back.UnmarshalText(text); err != nil || back != tt.in {
			t.Errorf("round trip of %d through %q gave %d, %v", int64(tt.in), text, int64(back), err)
		}
	}
}
