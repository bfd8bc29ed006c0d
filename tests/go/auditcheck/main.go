// Command auditcheck checks a jukinet audit bundle with Go's own transparency-log code,
// independently of the project (R25; docs/audit.md, "How an auditor checks a bundle").
//
// It verifies the newest checkpoint's signature with verifier.key (golang.org/x/mod/sumdb/note),
// recomputes the Merkle tree of entries.jsonl with golang.org/x/mod/sumdb/tlog (one record a
// line, without its newline) and compares its root with the checkpoint's, checks each earlier
// checkpoint's signature and its consistency proof to the newest (tlog.CheckTree), and, when
// cosigner.key is there, the prefecture's cosignature/v1 (c2sp.org/tlog-cosignature).
//
// With -disclosure it checks a disclosure answer (R14; docs/audit.md, "The provision log"):
// each node's checkpoint against the node's verifier key (sumdb/note), the witnessed checkpoint's
// cosignatures and its consistency proof to it (tlog.CheckTree), each provision's leaf
// by tlog.CheckRecord against the checkpoint, its commitment under the resident's key, and,
// with the node's published provision log, that the log makes the checkpoint's tree, that
// tlog.ProveRecord over it gives the answer's proofs, and that no leaf of the resident's is
// missing from the answer.
//
// Build offline with Debian's packages: GO111MODULE=off GOPATH=/usr/share/gocode go build.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// parseCheckpoint reads the C2SP tlog-checkpoint body: origin, size, base64 root hash.
// (tlog.ParseTree reads only the go.sum database's own first line.)
func parseCheckpoint(text string) (checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" || lines[0] == "" {
		return checkpoint{}, errors.New("malformed checkpoint")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return checkpoint{}, errors.New("malformed tree size")
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return checkpoint{}, errors.New("malformed root hash")
	}
	var root tlog.Hash
	copy(root[:], h)
	return checkpoint{lines[0], n, root}, nil
}

func openCheckpoint(path string, verifiers note.Verifiers, name string) (checkpoint, []byte, error) {
	msg, err := os.ReadFile(path)
	if err != nil {
		return checkpoint{}, nil, err
	}
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return checkpoint{}, nil, fmt.Errorf("%s: %v", filepath.Base(path), err)
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return checkpoint{}, nil, err
	}
	if c.origin != name {
		return checkpoint{}, nil, fmt.Errorf("origin %q is not the key name %q", c.origin, name)
	}
	return c, msg, nil
}

// checkCosignature verifies an Ed25519 cosignature/v1 line of cosigner vkey on msg.
func checkCosignature(msg []byte, vkey string) error {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		return errors.New("malformed cosigner.key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return errors.New("cosigner.key is not an Ed25519 cosignature/v1 key")
	}
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	split := bytes.LastIndex(msg, []byte("\n\n"))
	text := msg[:split+1]
	for _, line := range strings.Split(string(msg[split+2:]), "\n") {
		fields := strings.SplitN(strings.TrimPrefix(line, "— "), " ", 2)
		if len(fields) != 2 || fields[0] != parts[0] {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil || len(sig) != 4+8+64 || !bytes.Equal(sig[:4], sum[:4]) {
			continue
		}
		t := binary.BigEndian.Uint64(sig[4:12])
		signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), text...)
		if ed25519.Verify(ed25519.PublicKey(raw[1:]), signed, sig[12:]) {
			return nil
		}
		return errors.New("the cosignature does not verify")
	}
	return errors.New("the checkpoint has no cosignature of " + parts[0])
}

func check(dir string) (int64, error) {
	vkey, err := os.ReadFile(filepath.Join(dir, "verifier.key"))
	if err != nil {
		return 0, err
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return 0, fmt.Errorf("verifier.key: %v", err)
	}
	verifiers := note.VerifierList(v)
	head, msg, err := openCheckpoint(filepath.Join(dir, "checkpoint"), verifiers, v.Name())
	if err != nil {
		return 0, err
	}

	data, err := os.ReadFile(filepath.Join(dir, "entries.jsonl"))
	if err != nil {
		return 0, err
	}
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	var n int64
	if len(data) > 0 {
		if data[len(data)-1] != '\n' {
			return 0, errors.New("entries.jsonl does not end with a newline")
		}
		for _, line := range bytes.Split(data[:len(data)-1], []byte("\n")) {
			hashes, err := tlog.StoredHashes(n, line, reader)
			if err != nil {
				return 0, err
			}
			stored = append(stored, hashes...)
			n++
		}
	}
	if n != head.size {
		return n, fmt.Errorf("the checkpoint covers %d entries, entries.jsonl holds %d", head.size, n)
	}
	if n > 0 {
		root, err := tlog.TreeHash(n, reader)
		if err != nil {
			return n, err
		}
		if root != head.root {
			return n, errors.New("the root of entries.jsonl is not the checkpoint's root hash")
		}
	}

	if ckey, err := os.ReadFile(filepath.Join(dir, "cosigner.key")); err == nil {
		if err := checkCosignature(msg, string(ckey)); err != nil {
			return n, err
		}
	}

	earlier, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*"))
	sort.Strings(earlier)
	for _, path := range earlier {
		if strings.HasSuffix(path, ".proof") {
			continue
		}
		old, _, err := openCheckpoint(path, verifiers, v.Name())
		if err != nil {
			return n, err
		}
		text, err := os.ReadFile(path + ".proof")
		if err != nil {
			return n, err
		}
		var proof tlog.TreeProof
		for _, f := range strings.Fields(string(text)) {
			h, err := tlog.ParseHash(f)
			if err != nil {
				return n, err
			}
			proof = append(proof, h)
		}
		if err := tlog.CheckTree(proof, head.size, head.root, old.size, old.root); err != nil {
			return n, fmt.Errorf("checkpoint %d is not consistent with the newest: %v", old.size, err)
		}
	}
	return n, nil
}

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "-disclosure" {
		n, err := checkDisclosure(os.Args[2], os.Args[3:])
		if err != nil {
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
		fmt.Printf("OK: %d provisions, checkpoint signatures and inclusion proofs verified\n", n)
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: auditcheck BUNDLE-DIR | auditcheck -disclosure ANSWER.json [LOG.jsonl...]")
		os.Exit(2)
	}
	n, err := check(os.Args[1])
	if err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
	fmt.Printf("OK: %d entries, checkpoint signature and consistency proofs verified\n", n)
}
