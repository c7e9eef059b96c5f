module github.com/safewrr/safewrr

go 1.26
