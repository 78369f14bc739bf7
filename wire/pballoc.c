#include "wire/wire.h"

#include <stdlib.h>
#include <string.h>

/* Each block carries its size in front so the budget can be given back on free. */
union block_head {
	size_t size;
	max_align_t align;
};

static void *capped_alloc(void *data, size_t size)
{
	struct wire_pb_alloc *a = data;
	union block_head *h;

	if (size > a->cap - a->used)
		return NULL;
	h = malloc(sizeof(*h) + size);
	if (h == NULL)
		return NULL;
	h->size = size;
	a->used += size;
	return h + 1;
}

static void capped_free(void *data, void *ptr)
{
	struct wire_pb_alloc *a = data;
	union block_head *h;

	if (ptr == NULL)
		return;
	h = (union block_head *)ptr - 1;
	a->used -= h->size;
	free(h);
}

void wire_pb_alloc_init(struct wire_pb_alloc *a, size_t cap)
{
	a->base.alloc = capped_alloc;
	a->base.free = capped_free;
	a->base.allocator_data = a;
	a->used = 0;
	a->cap = cap;
}

size_t wire_body_budget(size_t body_len)
{
	/* protobuf-c sizes arrays from the elements actually present, so the
	 * memory a body can make it allocate grows with the body's length. */
	return 16384 + body_len * 48;
}

ProtobufCMessage *wire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
                              size_t len, struct wire_pb_alloc *a)
{
	wire_pb_alloc_init(a, wire_body_budget(len));
	return protobuf_c_message_unpack(desc, &a->base, len, len > 0 ? body : NULL);
}

void wire_decoded_free(ProtobufCMessage *m, struct wire_pb_alloc *a)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, &a->base);
}

/* A varint at *p (not past end): 0 and the value, or -1. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*ret = v;
			return 0;
		}
	}
	return -1;
}

bool wire_string_has_nul(const uint8_t *body, size_t len, unsigned field)
{
	const uint8_t *p = body, *end = body + len;

	while (p < end) {
		uint64_t key, n;

		if (get_varint(&p, end, &key) < 0)
			return false;
		switch (key & 7) {
		case 0:
			if (get_varint(&p, end, &n) < 0)
				return false;
			break;
		case 1:
			if (end - p < 8)
				return false;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return false;
			p += 4;
			break;
		case 2:
			if (get_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
				return false;
			if ((key >> 3) == field && memchr(p, 0, (size_t)n) != NULL)
				return true;
			p += n;
			break;
		default:
			return false; /* groups are not ours; the decoder judges the body */
		}
	}
	return false;
}

enum ts_err wire_pack(const ProtobufCMessage *m, uint8_t **ret_body, size_t *ret_len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = NULL;

	if (n > 0) {
		buf = malloc(n);
		if (buf == NULL)
			return TS_E_NOMEM;
		if (protobuf_c_message_pack(m, buf) != n) {
			free(buf);
			return TS_E_SERIALIZING_BODY_FAILED;
		}
	}
	*ret_body = buf;
	*ret_len = n;
	return TS_OK;
}
