// Package syncbuf holds the buffer the module's tests collect logs and a
// child process's output in, while other goroutines write to it.
package syncbuf

import (
	"bytes"
	"sync"
)

// A Buffer is a bytes.Buffer that is safe for concurrent use. The zero
// value is empty and ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what the buffer holds.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
