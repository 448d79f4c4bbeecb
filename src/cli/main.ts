console.log("edgemq")
