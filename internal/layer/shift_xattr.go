package layer

import "encoding/binary"

// Extended attributes that hold ids, in the kernel's on-disk formats.
const (
	capXattr      = "security.capability"
	capRevMask    = 0xff000000
	capRev2       = 0x02000000
	capRev3       = 0x03000000
	capSizeV2     = 20
	capSizeV3     = 24
	aclAccess     = "system.posix_acl_access"
	aclDefault    = "system.posix_acl_default"
	aclHeaderSize = 4
	aclEntrySize  = 8
	aclUser       = 0x02
	aclGroup      = 0x08
)

// shiftXattr returns an attribute's value for the shifted copy. File
// capabilities get the namespace's root as their root id (a v3 value):
// the kernel honours a v2 value only for the host's root, so a setuid
// or cap_net_raw binary would lose its capabilities in the container.
// ACL entries naming a user or a group get the shifted id.
func (c *shifter) shiftXattr(name string, v []byte) []byte {
	switch name {
	case capXattr:
		return c.shiftCaps(v)
	case aclAccess, aclDefault:
		return c.shiftACL(v)
	}
	return v
}

func (c *shifter) shiftCaps(v []byte) []byte {
	if len(v) < 4 {
		return v
	}
	le := binary.LittleEndian
	magic := le.Uint32(v)
	switch {
	case magic&capRevMask == capRev2 && len(v) == capSizeV2:
		out := make([]byte, capSizeV3)
		copy(out, v)
		le.PutUint32(out, capRev3|magic&^capRevMask)
		le.PutUint32(out[capSizeV2:], c.sh.UID(0))
		return out
	case magic&capRevMask == capRev3 && len(v) == capSizeV3:
		out := append([]byte(nil), v...)
		le.PutUint32(out[capSizeV2:], c.sh.UID(le.Uint32(v[capSizeV2:])))
		return out
	}
	return v
}

func (c *shifter) shiftACL(v []byte) []byte {
	if len(v) < aclHeaderSize || (len(v)-aclHeaderSize)%aclEntrySize != 0 {
		return v
	}
	le := binary.LittleEndian
	out := append([]byte(nil), v...)
	for off := aclHeaderSize; off < len(out); off += aclEntrySize {
		id := out[off+4 : off+8]
		switch le.Uint16(out[off:]) {
		case aclUser:
			le.PutUint32(id, c.sh.UID(le.Uint32(id)))
		case aclGroup:
			le.PutUint32(id, c.sh.GID(le.Uint32(id)))
		}
	}
	return out
}
