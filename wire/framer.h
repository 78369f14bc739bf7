/*
 * The byte-stream side of the wire: reading one request off a connection.
 *
 * A push parser that names the buffer the next bytes go to and says what they
 * completed, so a reader fills tesserad's own buffers straight from the socket
 * (no copy) whatever the chunking. tesserad's event loops use it for every
 * request; tests/fuzz/fuzz_stream drives it with arbitrary chunkings.
 *
 * It keeps Parsec's order of checks: the magic number as soon as its 4 bytes
 * are in, a header size other than 30 read and discarded before
 * InvalidHeader (0 at once), then the whole header (version, lengths against
 * the body limit), then the body and auth bytes.
 */
#ifndef TESSERA_WIRE_FRAMER_H
#define TESSERA_WIRE_FRAMER_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "wire/wire.h"

enum wire_frame_state {
	WF_PREFIX,  /* reading magic + header size */
	WF_HEADER,  /* reading the rest of the 36-byte header */
	WF_DISCARD, /* reading a header of the wrong size, to answer InvalidHeader */
	WF_PAYLOAD, /* reading body + auth */
	WF_DONE,    /* a whole request: h, payload (body then auth bytes) */
	WF_FAILED,  /* err says why; the stream is out of step: answer and close */
};

struct wire_framer {
	enum wire_frame_state state;
	uint32_t body_limit;
	uint8_t hdr[WIRE_HEADER_LEN];
	size_t have; /* bytes of the current stage */
	uint32_t discard_left;
	struct wire_header h;
	uint8_t *payload; /* grows only as bytes arrive; may hold a secret */
	size_t payload_len, payload_cap;
	enum ts_err err;
};

/* Ready for a request; body_limit is core.body_len_limit. */
void wire_framer_init(struct wire_framer *f, uint32_t body_limit);

/* Whether any byte of the current request has arrived. */
bool wire_framer_started(const struct wire_framer *f);

/*
 * Where the next bytes go, in a reading state: *ret_buf and *ret_len > 0
 * (scratch, of scratch_len > 0 bytes, takes discarded bytes). TS_OK, or
 * TS_E_NOMEM when the payload buffer cannot grow.
 */
enum ts_err wire_framer_buffer(struct wire_framer *f, uint8_t *scratch, size_t scratch_len,
                               uint8_t **ret_buf, size_t *ret_len);

/* n (> 0, at most the length last given) bytes were put in that buffer.
 * Returns the new state. */
enum wire_frame_state wire_framer_got(struct wire_framer *f, size_t n);

/* Wipe and free the payload (it may hold auth bytes), as after a request. */
void wire_framer_release(struct wire_framer *f);

#endif
