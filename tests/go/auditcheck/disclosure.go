package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type provenEntry struct {
	Index int64    `json:"index"`
	Leaf  string   `json:"leaf"`
	Proof []string `json:"proof"`
}

type nodeAnswer struct {
	Node        string        `json:"node"`
	ResidentKey string        `json:"resident_key"`
	Checkpoint  string        `json:"checkpoint"`
	VerifierKey string        `json:"verifier_key"`
	Provisions  []provenEntry `json:"provisions"`
	Witnessed   string        `json:"witnessed"`
	Consistency []string      `json:"consistency"`
	Cosigners   []string      `json:"cosigner_keys"`
}

type answerFile struct {
	Answers []nodeAnswer `json:"answers"`
}

type leafFields struct {
	Index      int64  `json:"index"`
	Node       string `json:"node"`
	Commitment string `json:"commitment"`
}

func commitment(key []byte, index int64) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("jukinet-provision/1:" + strconv.FormatInt(index, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// logOf reads a published provision log: one leaf a line; returns its node and its lines.
func logOf(path string) (string, [][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	if len(data) == 0 {
		return "", nil, nil
	}
	if data[len(data)-1] != '\n' {
		return "", nil, errors.New(path + " does not end with a newline")
	}
	lines := bytes.Split(data[:len(data)-1], []byte("\n"))
	var first leafFields
	if err := json.Unmarshal(lines[0], &first); err != nil {
		return "", nil, err
	}
	return first.Node, lines, nil
}

func checkDisclosure(path string, logPaths []string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var answer answerFile
	if err := json.Unmarshal(data, &answer); err != nil {
		return 0, err
	}
	logs := map[string][][]byte{}
	for _, p := range logPaths {
		node, lines, err := logOf(p)
		if err != nil {
			return 0, err
		}
		logs[node] = lines
	}
	count := 0
	for _, a := range answer.Answers {
		n, err := checkNode(a, logs[a.Node])
		if err != nil {
			return count, fmt.Errorf("%s: %v", a.Node, err)
		}
		count += n
	}
	return count, nil
}

func checkNode(a nodeAnswer, log [][]byte) (int, error) {
	v, err := note.NewVerifier(a.VerifierKey)
	if err != nil {
		return 0, fmt.Errorf("verifier key: %v", err)
	}
	n, err := note.Open([]byte(a.Checkpoint), note.VerifierList(v))
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %v", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return 0, err
	}
	if cp.origin != v.Name() {
		return 0, fmt.Errorf("origin %q is not the key name %q", cp.origin, v.Name())
	}
	if a.Witnessed != "" {
		if err := checkWitnessed(a, v, cp); err != nil {
			return 0, err
		}
	}
	key, err := hex.DecodeString(a.ResidentKey)
	if err != nil {
		return 0, errors.New("the resident key is not hex")
	}
	listed := map[int64]bool{}
	for _, e := range a.Provisions {
		var leaf leafFields
		if err := json.Unmarshal([]byte(e.Leaf), &leaf); err != nil || leaf.Index != e.Index {
			return 0, fmt.Errorf("provision %d: malformed leaf", e.Index)
		}
		if !hmac.Equal([]byte(leaf.Commitment), []byte(commitment(key, e.Index))) {
			return 0, fmt.Errorf("provision %d: not committed to this resident", e.Index)
		}
		var proof tlog.RecordProof
		for _, p := range e.Proof {
			h, err := base64.StdEncoding.DecodeString(p)
			if err != nil || len(h) != tlog.HashSize {
				return 0, fmt.Errorf("provision %d: malformed proof", e.Index)
			}
			var th tlog.Hash
			copy(th[:], h)
			proof = append(proof, th)
		}
		leafHash := tlog.RecordHash([]byte(e.Leaf))
		if err := tlog.CheckRecord(proof, cp.size, cp.root, e.Index, leafHash); err != nil {
			return 0, fmt.Errorf("provision %d: %v", e.Index, err)
		}
		listed[e.Index] = true
	}
	if log != nil {
		if err := checkLog(log, cp, key, listed, a.Provisions); err != nil {
			return 0, err
		}
	}
	return len(a.Provisions), nil
}

func checkLog(log [][]byte, cp checkpoint, key []byte, listed map[int64]bool, entries []provenEntry) error {
	if int64(len(log)) < cp.size {
		return fmt.Errorf("the published log holds %d leaves, the checkpoint %d", len(log), cp.size)
	}
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i := int64(0); i < cp.size; i++ {
		hashes, err := tlog.StoredHashes(i, log[i], reader)
		if err != nil {
			return err
		}
		stored = append(stored, hashes...)
	}
	if cp.size > 0 {
		root, err := tlog.TreeHash(cp.size, reader)
		if err != nil {
			return err
		}
		if root != cp.root {
			return errors.New("the published log is not the tree the checkpoint signs")
		}
	}
	for _, e := range entries {
		proof, err := tlog.ProveRecord(cp.size, e.Index, reader)
		if err != nil {
			return err
		}
		if len(proof) != len(e.Proof) {
			return fmt.Errorf("provision %d: the proof is not tlog's", e.Index)
		}
		for i, h := range proof {
			if base64.StdEncoding.EncodeToString(h[:]) != e.Proof[i] {
				return fmt.Errorf("provision %d: the proof is not tlog's", e.Index)
			}
		}
	}
	for i := int64(0); i < cp.size; i++ {
		var leaf leafFields
		if err := json.Unmarshal(log[i], &leaf); err != nil {
			return fmt.Errorf("leaf %d: %v", i, err)
		}
		if leaf.Commitment == commitment(key, i) && !listed[i] {
			return fmt.Errorf("provision %d is in the log but left out of the answer", i)
		}
	}
	return nil
}

// checkWitnessed verifies the witnessed checkpoint: the node's signature, each cosigner's
// cosignature/v1, and the consistency proof to the answer's checkpoint (tlog.CheckTree).
func checkWitnessed(a nodeAnswer, v note.Verifier, cp checkpoint) error {
	n, err := note.Open([]byte(a.Witnessed), note.VerifierList(v))
	if err != nil {
		return fmt.Errorf("witnessed checkpoint: %v", err)
	}
	old, err := parseCheckpoint(n.Text)
	if err != nil {
		return err
	}
	for _, key := range a.Cosigners {
		if err := checkCosignature([]byte(a.Witnessed), key); err != nil {
			return fmt.Errorf("witnessed checkpoint: %v", err)
		}
	}
	if old.size > cp.size || (old.size == cp.size && old.root != cp.root) {
		return errors.New("the witnessed checkpoint is not an earlier state of the log")
	}
	if old.size == 0 || old.size == cp.size {
		return nil
	}
	var proof tlog.TreeProof
	for _, p := range a.Consistency {
		h, err := base64.StdEncoding.DecodeString(p)
		if err != nil || len(h) != tlog.HashSize {
			return errors.New("malformed consistency proof")
		}
		var th tlog.Hash
		copy(th[:], h)
		proof = append(proof, th)
	}
	if err := tlog.CheckTree(proof, cp.size, cp.root, old.size, old.root); err != nil {
		return fmt.Errorf("the log does not extend the witnessed checkpoint: %v", err)
	}
	return nil
}
