// The two /dev/fuse ioctls that Node cannot issue itself: register a backing file with the FUSE connection
// (FUSE_DEV_IOC_BACKING_OPEN, Linux 6.9+) and drop such a registration (FUSE_DEV_IOC_BACKING_CLOSE).
// Everything else the daemon does (read/write on /dev/fuse, mount) is plain Node.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <node_api.h>

// Layouts and numbers from include/uapi/linux/fuse.h (protocol 7.40). The system header may predate them.
struct fbr_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define FBR_DEV_IOC_MAGIC 229
#define FBR_DEV_IOC_BACKING_OPEN _IOW(FBR_DEV_IOC_MAGIC, 1, struct fbr_backing_map)
#define FBR_DEV_IOC_BACKING_CLOSE _IOW(FBR_DEV_IOC_MAGIC, 2, uint32_t)

// The errno names the kernel returns from these ioctls, for Error.code as Node spells it.
static const char *errno_name(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	const char *name = strerrorname_np(err);
	if (name)
		return name;
#endif
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ELOOP: return "ELOOP";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "EUNKNOWN";
	}
}

// Throws Error(message) with .code = errno name and .errno = -errno, as Node's own fs errors carry them.
static napi_value throw_errno(napi_env env, int err, const char *what)
{
	char message[160];
	napi_value code, msg, error, errnum;

	snprintf(message, sizeof(message), "%s: %s (%s)", what, strerror(err), errno_name(err));
	napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
	napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
	napi_create_error(env, code, msg, &error);
	napi_create_int32(env, -err, &errnum);
	napi_set_named_property(env, error, "errno", errnum);
	napi_throw(env, error);
	return NULL;
}

// Reads argument i as an int32; throws a TypeError and returns false when it is not a number.
static int int32_arg(napi_env env, napi_value *argv, size_t argc, size_t i, int32_t fallback, int32_t *out)
{
	napi_valuetype type = napi_undefined;

	if (i < argc)
		napi_typeof(env, argv[i], &type);
	if (type == napi_undefined) {
		*out = fallback;
		return 1;
	}
	if (type != napi_number || napi_get_value_int32(env, argv[i], out) != napi_ok) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an integer argument");
		return 0;
	}
	return 1;
}

// A BigInt argument as a u64 (fallback when absent or undefined); throws a TypeError otherwise.
static int uint64_arg(napi_env env, napi_value *argv, size_t argc, size_t i, uint64_t fallback, uint64_t *out)
{
	napi_valuetype type = napi_undefined;
	bool lossless;

	*out = fallback;
	if (i < argc)
		napi_typeof(env, argv[i], &type);
	if (type == napi_undefined)
		return 1;
	if (type != napi_bigint || napi_get_value_bigint_uint64(env, argv[i], out, &lossless) != napi_ok || !lossless) {
		napi_throw_type_error(env, NULL, "expected a BigInt from 0 to 2^64-1");
		return 0;
	}
	return 1;
}

// backingOpen(devFd, backingFd, flags = 0, padding = 0n) -> backing id (> 0). padding is the map's spare u64: a
// content tag with the `digest` kernel's FUSE_BACKING_TAG flag (kernel/patches/digest.patch), else 0.
static napi_value backing_open(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4], result;
	int32_t dev_fd, backing_fd, flags;
	uint64_t padding;
	struct fbr_backing_map map;
	int id;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (!int32_arg(env, argv, argc, 0, -1, &dev_fd) || !int32_arg(env, argv, argc, 1, -1, &backing_fd) ||
	    !int32_arg(env, argv, argc, 2, 0, &flags) || !uint64_arg(env, argv, argc, 3, 0, &padding))
		return NULL;
	memset(&map, 0, sizeof(map));
	map.fd = backing_fd;
	map.flags = (uint32_t)flags;
	map.padding = padding;
	id = ioctl(dev_fd, FBR_DEV_IOC_BACKING_OPEN, &map);
	if (id < 0)
		return throw_errno(env, errno, "FUSE_DEV_IOC_BACKING_OPEN");
	napi_create_int32(env, id, &result);
	return result;
}

// backingClose(devFd, id) -> undefined
static napi_value backing_close(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	int32_t dev_fd, id;
	uint32_t backing_id;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (!int32_arg(env, argv, argc, 0, -1, &dev_fd) || !int32_arg(env, argv, argc, 1, 0, &id))
		return NULL;
	backing_id = (uint32_t)id;
	if (ioctl(dev_fd, FBR_DEV_IOC_BACKING_CLOSE, &backing_id) < 0)
		return throw_errno(env, errno, "FUSE_DEV_IOC_BACKING_CLOSE");
	return NULL;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		{ "backingOpen", NULL, backing_open, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "backingClose", NULL, backing_close, NULL, NULL, NULL, napi_enumerable, NULL },
	};

	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
