package cgroups

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// v2Default are the controllers enabled for every container when the host
// delegates them, so that stats work and Update can add limits later.
var v2Default = []string{"cpu", "cpuset", "io", "memory", "pids"}

// makeV2 creates <root>/<parent...>/<name>, delegating controllers down
// cocin's own parent levels. It returns the directories it made.
func (c *Cgroup) makeV2(needed []string) (made []string, err error) {
	dir := c.fs.root
	for _, elem := range c.parentLevels() {
		dir = filepath.Join(dir, elem)
		created, err := c.fs.mkdir(dir)
		if err != nil {
			return made, fmt.Errorf("mkdir %s: %w", dir, err)
		}
		if created {
			made = append(made, dir)
		}
		if err := c.fs.delegate(dir, needed); err != nil {
			return made, err
		}
	}
	leaf, err := c.makeLeaf(dir)
	if leaf != "" {
		made = append(made, leaf)
	}
	c.paths = map[string]string{"": leaf}
	return made, err
}

// parentLevels are the parent's path elements, none for RootParent.
func (c *Cgroup) parentLevels() []string {
	if c.parent == "" {
		return nil
	}
	return strings.Split(c.parent, "/")
}

// makeLeaf creates the container's own directory, which must be new: an
// existing one belongs to another container or to a crashed run.
func (c *Cgroup) makeLeaf(parentDir string) (string, error) {
	leaf := filepath.Join(parentDir, c.name)
	created, err := c.fs.mkdir(leaf)
	if err != nil {
		return "", fmt.Errorf("mkdir %s: %w", leaf, err)
	}
	if !created {
		return "", fmt.Errorf("cgroup %s already exists", leaf)
	}
	return leaf, nil
}

// delegate enables controllers in dir's cgroup.subtree_control: the needed
// ones (an error if dir's parent does not offer them) and the defaults that
// are offered. dir is always one of cocin's parent levels, never the root.
func (f *fsys) delegate(dir string, needed []string) error {
	avail, err := readFile(dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	offered := strings.Fields(avail)
	for _, n := range needed {
		if !slices.Contains(offered, n) {
			return fmt.Errorf("cgroup v2 controller %q is needed but not available in %s: "+
				"enable it in %s/cgroup.subtree_control (cocin does not change cgroups it does not own)",
				n, dir, filepath.Dir(dir))
		}
	}
	enabledS, err := readFile(dir, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	enabled := strings.Fields(enabledS)
	var add []string
	for _, ctrl := range append(slices.Clone(v2Default), needed...) {
		if slices.Contains(offered, ctrl) && !slices.Contains(enabled, ctrl) && !slices.Contains(add, "+"+ctrl) {
			add = append(add, "+"+ctrl)
		}
	}
	if len(add) == 0 {
		return nil
	}
	sort.Strings(add)
	return writeFile(dir, "cgroup.subtree_control", strings.Join(add, " "))
}

// makeV1 creates <mount>/<parent...>/<name> on every mounted controller of
// v1Controllers; a needed controller that is not mounted is an error.
func (c *Cgroup) makeV1(needed []string) (made []string, err error) {
	for _, n := range needed {
		if _, ok := c.fs.mounts[n]; !ok {
			return nil, fmt.Errorf("cgroup v1 controller %q is needed but not mounted", n)
		}
	}
	c.paths = map[string]string{}
	for _, mnt := range c.fs.v1MountPoints() {
		leaf, m, err := c.makeV1Dirs(mnt)
		made = append(made, m...)
		if err != nil {
			return made, err
		}
		for ctrl, p := range c.fs.mounts {
			if p == mnt && isV1Controller(ctrl) {
				c.paths[ctrl] = leaf
			}
		}
	}
	return made, nil
}

// v1MountPoints lists each hierarchy once, sorted for a stable order.
func (f *fsys) v1MountPoints() []string {
	var mps []string
	for _, ctrl := range v1Controllers {
		if m, ok := f.mounts[ctrl]; ok && !slices.Contains(mps, m) {
			mps = append(mps, m)
		}
	}
	sort.Strings(mps)
	return mps
}

// makeV1Dirs creates the parent levels and the leaf on one hierarchy.
func (c *Cgroup) makeV1Dirs(mnt string) (leaf string, made []string, err error) {
	cpuset := c.fs.mounts["cpuset"] == mnt
	dir := mnt
	for _, elem := range c.parentLevels() {
		dir = filepath.Join(dir, elem)
		created, err := c.fs.mkdir(dir)
		if err != nil {
			return "", made, fmt.Errorf("mkdir %s: %w", dir, err)
		}
		if created {
			made = append(made, dir)
		}
		if cpuset {
			if err := inheritCpuset(dir); err != nil {
				return "", made, err
			}
		}
	}
	leaf, err = c.makeLeaf(dir)
	if err != nil {
		return "", made, err
	}
	made = append(made, leaf)
	if cpuset {
		err = inheritCpuset(leaf)
	}
	return leaf, made, err
}

// inheritCpuset copies cpuset.cpus and cpuset.mems from the parent when they
// are empty: a v1 cpuset starts empty and refuses tasks until both are set.
func inheritCpuset(dir string) error {
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readFile(dir, file)
		if err != nil {
			return err
		}
		if cur != "" {
			continue
		}
		v, err := readFile(filepath.Dir(dir), file)
		if err != nil {
			return err
		}
		if err := writeFile(dir, file, v); err != nil {
			return err
		}
	}
	return nil
}
